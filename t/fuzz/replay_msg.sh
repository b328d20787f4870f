#!/bin/sh
# Replays the committed corpus of the message-parser fuzz harness.
exec "${top_builddir:-.}/t/fuzz/replay_msg" "${top_srcdir:-.}/t/fuzz/corpus/msg"
