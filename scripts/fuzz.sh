#!/usr/bin/env bash
# Runs every native fuzz target of the module, one at a time (go test -fuzz
# takes exactly one), for FUZZTIME each.
#
# The default is a count (10000x: ten thousand inputs per target, 2-15 s each
# here), not a duration. Go 1.26's fuzz coordinator can report a bare
# "context deadline exceeded" at the end of a duration-based -fuzztime on a
# loaded machine, with no failing input (go.dev/issue/75804, fixed in Go
# 1.27); a count budget never arms that deadline. Longer runs by hand:
# FUZZTIME=2m scripts/fuzz.sh or FUZZTIME=500000x scripts/fuzz.sh. A duration
# run that fails with that message and writes no failing input is retried
# once; any failure that writes an input under testdata/fuzz fails at once.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10000x}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
n=0

# crashers DIR TARGET: how many failing inputs the target has on disk.
crashers() {
	local d="$1/testdata/fuzz/$2"
	if [ -d "$d" ]; then find "$d" -type f | wc -l; else echo 0; fi
}

for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		n=$((n + 1))
		for attempt in 1 2; do
			echo "::: $pkg $t ($fuzztime)"
			before=$(crashers "$dir" "$t")
			if go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
				break
			fi
			cat "$log"
			if [ "$attempt" = 1 ] && grep -q 'context deadline exceeded' "$log" &&
				[ "$(crashers "$dir" "$t")" = "$before" ]; then
				echo "::: $t: deadline race of the Go fuzz coordinator, no failing input written; running it again"
				continue
			fi
			failed=$((failed + 1))
			break
		done
	done
done
echo "::: $n fuzz targets, $failed failed"
[ "$failed" -eq 0 ]
