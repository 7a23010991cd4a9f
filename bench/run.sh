#!/usr/bin/env bash
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
#
# bench/run.sh: mailwatchd against prometheus-postfix-exporter and mtail on the
# same synthetic mail log, side by side, then mailwatchd's own scrape cost,
# memory and idle CPU, then the Go benchmarks. Prints markdown tables and
# keeps everything (tables, JSON, tool output) in $OUT. See bench/README.md.
#
# Environment (defaults in brackets):
#   LINES [1500000]  SEED [1]  ROUNDS [3]  IDLE_SECONDS [600]  WRK_DURATION [20s]
#   STEPS ["ingest latency scrape journal go"]  OUT [/tmp/mailwatchd-bench.XXXXXX]
#   LATENCY_SAMPLES [200]  JOURNAL_ENTRIES [200000]
#   BENCH_CACHE [~/.cache/mailwatchd-bench] (generated corpora are reused)
#   MAILWATCHD [build with `make build` and copy into $OUT]
#   PORT_BASE [20000]: TCP ports PORT_BASE+98, +99, +100, +154, +903 and UDP
#     port PORT_BASE+53 (the stub resolver of scrape.py), all on 127.0.0.1
#   SCRATCH [a new directory in /dev/shm if it has room, else $OUT/scratch]
#   MTAIL_ONESHOT [0]: 1 also times `mtail -one_shot` (about +30 s per round)
#   INSTALL [auto]: install missing peers with apt-get when root; 0 = never
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
LINES=${LINES:-1500000}
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-3}
IDLE_SECONDS=${IDLE_SECONDS:-600}
WRK_DURATION=${WRK_DURATION:-20s}
STEPS=${STEPS:-ingest latency scrape journal go}
LATENCY_SAMPLES=${LATENCY_SAMPLES:-200}
JOURNAL_ENTRIES=${JOURNAL_ENTRIES:-200000}
PORT_BASE=${PORT_BASE:-20000}
MTAIL_ONESHOT=${MTAIL_ONESHOT:-0}
INSTALL=${INSTALL:-auto}
GO=${GO:-go}
BENCH_CACHE=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mailwatchd-bench}
OUT=${OUT:-$(mktemp -d /tmp/mailwatchd-bench.XXXXXX)}
mkdir -p "$OUT" "$BENCH_CACHE"
summary=$OUT/summary.md
: >"$summary"

say() { printf '%s\n' "$*" >&2; }
cleanups=()
cleanup() {
	local c
	for c in "${cleanups[@]}"; do [[ -n $c ]] && "$c"; done
	return 0
}
trap cleanup EXIT
emit() { tee -a "$summary"; }
has() { [[ " $STEPS " == *" $1 "* ]]; }

# --- peers -------------------------------------------------------------------
need=()
command -v python3 >/dev/null || need+=(python3)
if has ingest; then
	command -v prometheus-postfix-exporter >/dev/null || need+=(prometheus-postfix-exporter)
	command -v mtail >/dev/null || need+=(mtail)
fi
if has scrape; then command -v wrk >/dev/null || need+=(wrk); fi
if ((${#need[@]})); then
	if [[ $INSTALL == 0 || $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		say "bench: missing ${need[*]}; install them (Debian 12):"
		say "  apt-get install --no-install-recommends ${need[*]}"
		exit 1
	fi
	say "bench: installing ${need[*]} (services are not started)"
	# The Debian packages enable and start their services (the exporter would
	# read /var/log/mail.log and listen on :9154, mtail on :3903); a temporary
	# policy-rc.d that refuses every start prevents that. An existing one is
	# moved aside and put back afterwards, whatever happens.
	policy=/usr/sbin/policy-rc.d
	if [[ -e $policy ]]; then mv "$policy" "$policy.mailwatchd-bench"; fi
	restore_policy() {
		rm -f "$policy"
		if [[ -e $policy.mailwatchd-bench ]]; then mv "$policy.mailwatchd-bench" "$policy"; fi
	}
	cleanups+=(restore_policy)
	printf '#!/bin/sh\n# bench/run.sh: no service starts while it installs packages\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	if ! apt-cache policy "${need[@]}" | grep -q 'Candidate: [0-9]'; then
		apt-get -o DPkg::Lock::Timeout=600 update -qq
	fi
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >&2
	restore_policy
	cleanups=("${cleanups[@]/restore_policy/}")
	# Stop anything a maintainer script started anyway (only the packages'
	# own services, by unit name, and only if systemd runs).
	if [[ -d /run/systemd/system ]]; then
		for unit in prometheus-postfix-exporter mtail; do
			systemctl stop "$unit" 2>/dev/null || true
		done
	fi
fi

# --- mailwatchd --------------------------------------------------------------
if [[ -z ${MAILWATCHD:-} ]]; then
	make -s build GO="$GO" >&2
	cp mailwatchd "$OUT/mailwatchd" # a private copy: the tree may be rebuilt meanwhile
	MAILWATCHD=$OUT/mailwatchd
fi
MAILWATCHD=$(realpath "$MAILWATCHD")

# --- corpus ------------------------------------------------------------------
corpus() { # corpus FORMAT -> path (generated once per seed, size and format)
	local base=$BENCH_CACHE/mail-$SEED-$LINES-$1 gen=$repo/bench/gen-log.py
	# Regenerate when the generator changed.
	local sum
	sum=$(sha256sum "$gen" | cut -c1-12)
	if [[ ! -s $base.log || ! -s $base.json || $(cat "$base.gen" 2>/dev/null) != "$sum" ]]; then
		say "bench: generating $LINES lines ($1) into $base.log"
		python3 "$gen" --seed "$SEED" --lines "$LINES" --ts "$1" --out "$base.log" --truth "$base.json" 2>/dev/null
		echo "$sum" >"$base.gen"
	fi
	echo "$base.log"
}
trad=$(corpus traditional)
rfc=$(corpus rfc3339)

# The followed log files live in a tmpfs when there is room, so that appending
# the corpus runs at memory speed and never limits the tool being timed.
if [[ -z ${SCRATCH:-} ]]; then
	need_kib=$(($(stat -c %s "$rfc") * 3 / 1024))
	if [[ -d /dev/shm && -w /dev/shm ]] && (($(df -Pk /dev/shm | awk 'NR == 2 {print $4}') > need_kib)); then
		SCRATCH=$(mktemp -d /dev/shm/mailwatchd-bench.XXXXXX)
	else
		SCRATCH=$OUT/scratch
	fi
	remove_scratch() { rm -rf "$SCRATCH"; }
	cleanups+=(remove_scratch)
fi
mkdir -p "$SCRATCH"

# --- header ------------------------------------------------------------------
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "not installed"; }
{
	echo "## mailwatchd benchmarks, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, kernel $(uname -r), $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release)"
	echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- $("$MAILWATCHD" --version 2>&1 | head -1)"
	echo "- prometheus-postfix-exporter $(pkgver prometheus-postfix-exporter), mtail $(pkgver mtail) with /usr/share/doc/mtail/examples/postfix.mtail as shipped, wrk $(pkgver wrk)"
	echo "- corpus: bench/gen-log.py --seed $SEED --lines $LINES (--ts traditional and --ts rfc3339)"
} | emit

# --- side by side ------------------------------------------------------------
if has ingest; then
	progs=$OUT/mtail-progs
	mkdir -p "$progs"
	ex=/usr/share/doc/mtail/examples/postfix.mtail
	if [[ -f $ex ]]; then cp "$ex" "$progs/"; elif [[ -f $ex.gz ]]; then zcat "$ex.gz" >"$progs/postfix.mtail"; else
		say "bench: $ex not found"
		exit 1
	fi
	oneshot=()
	[[ $MTAIL_ONESHOT == 1 ]] && oneshot=(--mtail-oneshot)
	common=(--mailwatchd "$MAILWATCHD" --mtail-progs "$progs" --port-base "$PORT_BASE" "${oneshot[@]}")
	say "bench: side by side, traditional timestamps, $ROUNDS rounds"
	python3 bench/compare.py "${common[@]}" --corpus "$trad" --truth "${trad%.log}.json" --rounds "$ROUNDS" \
		--label "traditional syslog timestamps (every tool's program reads them)" \
		--workdir "$SCRATCH/ingest-traditional" --json "$OUT/ingest-traditional.json" | emit
	say "bench: side by side, RFC 3339 timestamps (Debian 12's rsyslog default), 1 round"
	python3 bench/compare.py "${common[@]}" --corpus "$rfc" --truth "${rfc%.log}.json" --rounds 1 \
		--label "RFC 3339 timestamps (Debian 12 default)" \
		--workdir "$SCRATCH/ingest-rfc3339" --json "$OUT/ingest-rfc3339.json" | emit
fi

# --- line-to-metric latency ---------------------------------------------------
if has latency; then
	say "bench: line-to-metric latency, $LATENCY_SAMPLES probes on a quiet file and under 10 k lines/s"
	python3 bench/latency.py --mailwatchd "$MAILWATCHD" --config-example config.example.yaml --corpus "$rfc" \
		--workdir "$SCRATCH/latency" --port $((PORT_BASE + 100)) --samples "$LATENCY_SAMPLES" \
		--json "$OUT/latency.json" | emit
fi

# --- scrape load, RSS, idle CPU ----------------------------------------------
if has scrape; then
	say "bench: every collector: corpus, wrk, 200 req/s; then the default configuration: ${IDLE_SECONDS}s idle"
	python3 bench/scrape.py --mailwatchd "$MAILWATCHD" --config-example config.example.yaml --corpus "$rfc" \
		--workdir "$SCRATCH/scrape" --port $((PORT_BASE + 100)) --dns-port $((PORT_BASE + 53)) --wrk-duration "$WRK_DURATION" \
		--idle "$IDLE_SECONDS" --json "$OUT/scrape.json" | emit
fi

# --- journal source ----------------------------------------------------------
# Root only: it runs a systemd-journald of its own in a journal namespace.
if has journal; then
	say "bench: journal source against journalctl, $JOURNAL_ENTRIES entries"
	python3 bench/journal.py --mailwatchd "$MAILWATCHD" --corpus "$rfc" --entries "$JOURNAL_ENTRIES" \
		--rounds "$ROUNDS" --workdir "$SCRATCH/journal" --port $((PORT_BASE + 100)) \
		--json "$OUT/journal.json" | emit
fi

# --- Go benchmarks -----------------------------------------------------------
if has go; then
	say "bench: go test -bench (logparse benchmarks on the RFC 3339 corpus)"
	MAILWATCHD_BENCH_CORPUS=$rfc $GO test -run '^$' -bench . -benchmem ./... >"$OUT/go-bench.txt" 2>&1 || {
		say "bench: go test -bench failed, see $OUT/go-bench.txt"
		grep -E -- '^(--- FAIL|FAIL|panic)' "$OUT/go-bench.txt" >&2 || true
	}
	{
		echo
		echo "### Go benchmarks (go test -run '^\$' -bench . -benchmem ./..., MAILWATCHD_BENCH_CORPUS = RFC 3339 corpus)"
		echo
		echo '```'
		grep -E '^(Benchmark|--- FAIL|FAIL)' "$OUT/go-bench.txt" | sed -E 's/[[:space:]]+/ /g'
		echo '```'
	} | emit
fi
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | emit
say "bench: results in $OUT (summary.md, *.json, go-bench.txt)"
