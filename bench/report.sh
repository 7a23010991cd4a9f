#!/usr/bin/env bash
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
#
# bench/report.sh: `mailwatchd report` against pflogsumm on the same
# synthetic mail log (bench/gen-log.py, traditional timestamps, which
# pflogsumm reads), same machine, rounds alternating; wall time, CPU time and
# peak RSS of each (GNU time), then the reconciliation of the two on that
# log (go test -run TestReconcileLog ./internal/report). `make bench` runs it
# after bench/run.sh; see bench/README.md.
#
# Environment (defaults in brackets):
#   LINES [1500000]  SEED [1]  ROUNDS [3]  OUT [/tmp/mailwatchd-report-bench.XXXXXX]
#   BENCH_CACHE [~/.cache/mailwatchd-bench] (the corpus bench/run.sh generates is reused)
#   MAILWATCHD [build with `make build` and copy into $OUT]  PFLOGSUMM [pflogsumm]
#   RECONCILE [1]: 0 skips the reconciliation (two more pflogsumm runs)
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
LINES=${LINES:-1500000}
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-3}
RECONCILE=${RECONCILE:-1}
GO=${GO:-go}
BENCH_CACHE=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mailwatchd-bench}
OUT=${OUT:-$(mktemp -d /tmp/mailwatchd-report-bench.XXXXXX)}
mkdir -p "$OUT" "$BENCH_CACHE"
say() { printf '%s\n' "$*" >&2; }

PFLOGSUMM=${PFLOGSUMM:-$(command -v pflogsumm || echo /usr/sbin/pflogsumm)}
[[ -x $PFLOGSUMM ]] || { say "report.sh: pflogsumm not found (apt-get install pflogsumm)"; exit 1; }
[[ -x /usr/bin/time ]] || { say "report.sh: GNU time not found (apt-get install time)"; exit 1; }
command -v python3 >/dev/null || { say "report.sh: python3 not found"; exit 1; }

if [[ -z ${MAILWATCHD:-} ]]; then
	make -s build GO="$GO" >&2
	cp mailwatchd "$OUT/mailwatchd"
	MAILWATCHD=$OUT/mailwatchd
fi

# The corpus, as bench/run.sh caches it (regenerated when gen-log.py changes).
base=$BENCH_CACHE/mail-$SEED-$LINES-traditional gen=$repo/bench/gen-log.py
sum=$(sha256sum "$gen" | cut -c1-12)
if [[ ! -s $base.log || ! -s $base.json || $(cat "$base.gen" 2>/dev/null) != "$sum" ]]; then
	say "report.sh: generating $LINES lines into $base.log"
	python3 "$gen" --seed "$SEED" --lines "$LINES" --ts traditional --out "$base.log" --truth "$base.json" 2>/dev/null
	echo "$sum" >"$base.gen"
fi
log=$base.log

# One timed run: "wall_s cpu_s rss_kib" on stdout, the tool's output in $2.
timed() { # NAME OUTFILE COMMAND...
	local name=$1 out=$2
	shift 2
	/usr/bin/time -f '%e %U %S %M' -o "$OUT/$name.time" "$@" >"$out"
	awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$OUT/$name.time"
}

: >"$OUT/runs.txt"
for ((i = 1; i <= ROUNDS; i++)); do
	say "report.sh: round $i/$ROUNDS"
	echo "pflogsumm $(timed pflogsumm "$OUT/pflogsumm.txt" "$PFLOGSUMM" "$log")" >>"$OUT/runs.txt"
	echo "report $(timed report "$OUT/report.json" "$MAILWATCHD" report --format json --top 0 "$log")" >>"$OUT/runs.txt"
done

python3 - "$OUT/runs.txt" "$log" "$LINES" <<'PY' | tee "$OUT/summary.md"
import os, statistics, sys
runs, log, lines = sys.argv[1], sys.argv[2], int(sys.argv[3])
by = {}
for line in open(runs):
    tool, wall, cpu, rss = line.split()
    by.setdefault(tool, []).append((float(wall), float(cpu), int(rss)))
load = open("/proc/loadavg").read().split()[:3]
print(f"## mailwatchd report vs pflogsumm: {lines} lines ({os.path.getsize(log) / 1e6:.0f} MB), "
      f"{len(by['report'])} rounds alternating, load average {' '.join(load)}")
print()
print("| tool | wall s (median) | CPU s (median) | peak RSS MiB (max) | lines/s |")
print("| --- | ---: | ---: | ---: | ---: |")
med = {}
for tool in ("pflogsumm", "report"):
    r = by[tool]
    w = statistics.median(x[0] for x in r)
    c = statistics.median(x[1] for x in r)
    m = max(x[2] for x in r) / 1024
    med[tool] = (w, c)
    name = "mailwatchd report --format json" if tool == "report" else "pflogsumm"
    print(f"| {name} | {w:.2f} | {c:.2f} | {m:.1f} | {lines / w:,.0f} |")
print()
print(f"report is {med['pflogsumm'][0] / med['report'][0]:.1f}x faster than pflogsumm in wall time, "
      f"{med['pflogsumm'][1] / med['report'][1]:.1f}x in CPU time.")
PY

if [[ $RECONCILE != 0 ]]; then
	say "report.sh: reconciling the report with pflogsumm on $log"
	MAILWATCHD_REPORT_RECONCILE_LOG=$log "$GO" test -count=1 -v -run '^TestReconcileLog$' ./internal/report/ | tee "$OUT/reconcile.txt" >&2
fi
say "report.sh: results in $OUT"
