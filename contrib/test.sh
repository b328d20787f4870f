#!/bin/sh
# Fresh Debian 12 to every test: install what is missing, build with warnings as errors, run
# the unit tests, the fuzz corpora and the integration tests ("make check").
set -eu
cd "$(dirname "$0")/.."
contrib/deps.sh test
contrib/build.sh --enable-werror
if ! make -j"$(nproc)" check; then
	for f in t/unit/*.log t/fuzz/*.log t/integration/*.log; do
		[ -f "$f" ] && ! grep -q '^PASS\|^# PASS\|^:test-result: PASS' "${f%.log}.trs" 2>/dev/null &&
			{ echo "==== $f"; tail -n 80 "$f"; }
	done
	exit 1
fi
