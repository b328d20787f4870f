#!/bin/sh
# Fresh Debian 12 to a running server: install what is missing, build, and serve
# conf/quickstart.yaml on port 5353 (loopback) in the foreground. Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
contrib/deps.sh build
contrib/build.sh
exec ./server/clouddns -P plugins/.built -c conf/quickstart.yaml
