#!/bin/sh
# Replays the committed corpus of the master-file reader fuzz harness.
exec "${top_builddir:-.}/t/fuzz/replay_zonefile" "${top_srcdir:-.}/t/fuzz/corpus/zonefile"
