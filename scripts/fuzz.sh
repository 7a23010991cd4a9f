#!/usr/bin/env bash
# Runs every native fuzz target of the module for FUZZTIME each (default 5s),
# one target at a time (go test -fuzz takes exactly one). CI runs it short;
# run it longer by hand, e.g. FUZZTIME=2m scripts/fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
failed=0
n=0
for pkg in $(go list ./...); do
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		n=$((n + 1))
		echo "::: $pkg $t ($fuzztime)"
		if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/fuzz.$$.log 2>&1; then
			cat /tmp/fuzz.$$.log
			failed=$((failed + 1))
		fi
	done
done
rm -f /tmp/fuzz.$$.log
echo "::: $n fuzz targets, $failed failed"
[ "$failed" -eq 0 ]
