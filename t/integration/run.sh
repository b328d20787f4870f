#!/bin/sh
# Integration tests: the real clouddns on loopback ports, driven by pytest and dnspython.
# "make check" sets top_srcdir, top_builddir and PYTHON3; by hand, from a configured and built
# tree: t/integration/run.sh [pytest arguments, e.g. -k chaos -x]
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
python=${PYTHON3:-/usr/bin/python3}
export top_srcdir top_builddir
# Keep the source tree clean (it may be read-only under distcheck).
export PYTHONDONTWRITEBYTECODE=1
# The whole suite normally takes well under a minute; a hang must not block "make check".
exec timeout -k 10 900 "$python" -m pytest -q -p no:cacheprovider -rfE "$@" \
	"$top_srcdir/t/integration"
