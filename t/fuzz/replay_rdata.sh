#!/bin/sh
# Replays the committed corpus of the RDATA text-parser fuzz harness.
exec "${top_builddir:-.}/t/fuzz/replay_rdata" "${top_srcdir:-.}/t/fuzz/corpus/rdata"
