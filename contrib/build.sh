#!/bin/sh
# Configure (once) and build in the source tree. Extra arguments go to ./configure.
set -eu
cd "$(dirname "$0")/.."
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure "$@"
make -j"$(nproc)"
