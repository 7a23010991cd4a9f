# shellcheck shell=bash
# Shared functions of the harness scripts: safety checks, process records, waiting.
# Sourced after env.sh; defines functions only.

mwh_log() { printf '[harness %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
mwh_die() { printf '[harness] ERROR: %s\n' "$*" >&2; exit 1; }

# Test accounts get a fixed, documented password so tests can log in: "<user>-Harness-1".
mwh_password() { printf '%s-Harness-1' "$1"; }

# mwh_self_signed ARGS...: openssl req for the harness's self-signed leaf (CN and SAN for
# MWH_HOSTNAME, localhost and both loopback addresses, SAN for the MTA-STS policy host
# MWH_MTASTS_HOST; MWH_CERT_DAYS); ARGS give the key (-newkey ... -keyout F, or -key F) and -out.
mwh_self_signed() {
  openssl req -x509 -sha256 -days "$MWH_CERT_DAYS" -subj "/CN=$MWH_HOSTNAME" \
    -addext "subjectAltName=DNS:$MWH_HOSTNAME,DNS:localhost,IP:127.0.0.1,IP:::1,DNS:$MWH_MTASTS_HOST" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment" \
    -addext "extendedKeyUsage=serverAuth" "$@" 2>/dev/null
}

mwh_have_override() { [ "${CI:-}" = true ] || [ "${MAILWATCHD_HARNESS_THROWAWAY:-}" = 1 ]; }

mwh_require_root() {
  [ "$(id -u)" = 0 ] || mwh_die "$(basename "$0") must run as root (it installs packages and runs mail daemons)"
}

# The harness rewrites /etc/postfix and /etc/dovecot and starts daemons on the standard mail
# ports, so it only runs where that cannot hurt: a machine with systemd as PID 1 is someone's real
# host, and a Postfix/Dovecot configuration the harness did not write is someone's real mail server.
# CI=true or MAILWATCHD_HARNESS_THROWAWAY=1 declares the machine disposable.
mwh_require_throwaway() {
  mwh_have_override && return 0
  local why=()
  if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    why+=("PID 1 is systemd: this looks like a real host, not a throwaway container/VM")
  fi
  if [ -e /etc/postfix/main.cf ] && [ ! -e "/etc/postfix/$MWH_MARKER_NAME" ]; then
    why+=("/etc/postfix/main.cf exists and was not written by this harness")
  fi
  if [ -e /etc/dovecot/local.conf ] && [ ! -e "/etc/dovecot/$MWH_MARKER_NAME" ]; then
    why+=("/etc/dovecot/local.conf exists and was not written by this harness")
  fi
  [ ${#why[@]} -eq 0 ] && return 0
  printf '[harness] refusing to run: this does not look like a throwaway machine:\n' >&2
  printf '  - %s\n' "${why[@]}" >&2
  printf '[harness] The harness reconfigures Postfix, Dovecot, OpenDKIM and fail2ban system-wide.\n' >&2
  printf '[harness] Run it in a disposable VM/container; set CI=true or MAILWATCHD_HARNESS_THROWAWAY=1 there.\n' >&2
  exit 2
}

# mwh_require_disposable_host: the checks of every script that installs or changes the stack on
# this machine (install.sh, and configure.sh and start.sh through mwh_require_stack_host): root, on
# a throwaway machine.
mwh_require_disposable_host() {
  mwh_require_root
  mwh_require_throwaway
}

# ------------------------------------------------------------------ process records
# The harness records every process it starts as $MWH_RUN/NAME.pid = "PID STARTTIME", where
# STARTTIME is field 22 of /proc/PID/stat. A PID is only ever signalled when both still match,
# so a recycled PID can never make the harness kill somebody else's process.

mwh_starttime() { # PID -> start time in clock ticks since boot (empty if no such process)
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  # comm (field 2) may contain spaces and parentheses: cut after the last ')'
  stat=${stat##*) }
  # shellcheck disable=SC2086 # deliberate word splitting of the remaining fields
  set -- $stat
  printf '%s' "${20}"
}

mwh_record() { # NAME PID
  local st
  st=$(mwh_starttime "$2")
  [ -n "$st" ] || mwh_die "$1: process $2 exited right after start (see $MWH_VAR/log/$1.log)"
  mkdir -p "$MWH_RUN"
  printf '%s %s\n' "$2" "$st" > "$MWH_RUN/$1.pid"
}

mwh_recorded_pid() { # NAME -> PID if the recorded process is still the one we started
  local f=$MWH_RUN/$1.pid pid st
  [ -s "$f" ] || return 1
  read -r pid st < "$f" || return 1
  [ -n "$pid" ] && [ -n "$st" ] || return 1
  [ "$(mwh_starttime "$pid")" = "$st" ] || return 1
  printf '%s' "$pid"
}

mwh_running() { mwh_recorded_pid "$1" >/dev/null; }

mwh_all_recorded_pids() { # every live recorded PID, one per line
  local f name
  for f in "$MWH_RUN"/*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    if mwh_recorded_pid "$name"; then echo; fi
  done
  return 0 # a stale record is not an error (callers run under set -e)
}

mwh_stop() { # NAME [TIMEOUT_SECONDS]: SIGTERM, wait, SIGKILL as a last resort; forget the record
  local name=$1 t=${2:-20} pid i
  if ! pid=$(mwh_recorded_pid "$name"); then
    rm -f "$MWH_RUN/$name.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < t * 10; i++)); do
    [ -n "$(mwh_starttime "$pid")" ] || break
    sleep 0.1
  done
  if [ -n "$(mwh_starttime "$pid")" ]; then
    mwh_log "${name}[$pid] ignored SIGTERM for ${t}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$MWH_RUN/$name.pid"
  mwh_log "stopped ${name}[$pid]"
}

# mwh_spawn NAME COMMAND...: start a foreground-capable daemon in its own session with stdin from
# /dev/null and output to $MWH_VAR/log/NAME.log (a daemon that keeps an inherited pipe open would
# hang whoever reads our output), then record it. A backgrounded command of a non-interactive
# shell is not a process-group leader, so setsid exec()s in place and $! is the daemon itself.
mwh_spawn() {
  local name=$1; shift
  mkdir -p "$MWH_VAR/log"
  setsid "$@" </dev/null >>"$MWH_VAR/log/$name.log" 2>&1 &
  mwh_record "$name" "$!"
}

# Record a daemon that forks itself and writes its own pid file (Postfix, Dovecot, fail2ban).
mwh_adopt_pidfile() { # NAME PIDFILE TIMEOUT
  local i pid=""
  for ((i = 0; i < $3 * 10; i++)); do
    if [ -s "$2" ]; then
      pid=$(head -n1 "$2" | tr -dc 0-9)
      [ -n "$pid" ] && [ -n "$(mwh_starttime "$pid")" ] && break
    fi
    sleep 0.1
  done
  [ -n "$pid" ] || mwh_die "$1 did not write $2 within $3 s (see $MWH_VAR/log/$1.log)"
  mwh_record "$1" "$pid"
}

# ------------------------------------------------------------------ waiting (polling, bounded)
mwh_busy_ports() { # PORT...: those of the given ports something listens on (TCP), in one ss call
  local listening p out=""
  listening=" $(ss -ltnH 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u | tr '\n' ' ') "
  for p in "$@"; do [[ $listening == *" $p "* ]] && out="$out $p"; done
  echo "${out# }"
}

mwh_wait_ports() { # TIMEOUT PORT...
  local t=$1 i p busy missing; shift
  for ((i = 0; i < t * 10; i++)); do
    busy=" $(mwh_busy_ports "$@") " missing=""
    for p in "$@"; do [[ $busy == *" $p "* ]] || missing="$missing $p"; done
    [ -z "$missing" ] && return 0
    sleep 0.1
  done
  mwh_die "ports not listening after ${t}s:$missing"
}

mwh_wait_http() { # URL TIMEOUT NAME
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    mwh_running "$3" || { tail -n 20 "$MWH_VAR/log/$3.log" >&2; mwh_die "$3 exited"; }
    sleep 0.2
  done
  mwh_die "$3 not ready at $1 after $2 s"
}

# Ports the stack listens on (used for the foreign-process check and the final leak check).
mwh_stack_ports() {
  echo "$MWH_SMTP_PORT $MWH_SUBMISSIONS_PORT $MWH_SUBMISSION_PORT $MWH_IMAP_PORT $MWH_IMAPS_PORT $MWH_SIEVE_PORT" \
    "$MWH_DKIM_PORT $MWH_SINK_OK_PORT $MWH_SINK_BOUNCE_PORT $MWH_SINK_GREY_PORT $MWH_DNS_PORT $MWH_DNS_HANG_PORT" \
    "$MWH_PROM_PORT $MWH_AM_PORT $MWH_HOOK_PORT" \
    "$MWH_RSPAMD_MILTER_PORT $MWH_RSPAMD_NORMAL_PORT $MWH_RSPAMD_CONTROLLER_PORT" \
    "$MWH_POSTSCREEN_PORT $MWH_RATELIMIT_PORT $MWH_TLS_SINK_VERIFIED_PORT $MWH_TLS_SINK_TRUSTED_PORT $MWH_TLS_SINK_UNTRUSTED_PORT" \
    "$(seq -s ' ' "$MWH_PROVIDER_SINK_BASE" $((MWH_PROVIDER_SINK_BASE + 7)))" \
    "$MWH_MTASTS_PORT"
}

# Refuse to start next to mail daemons the harness did not start: they would hold the ports, and
# the harness must never signal or reconfigure them. Applies even with CI=true.
mwh_require_no_foreign_daemons() {
  local ours p pids pid foreign=()
  ours=" $(mwh_all_recorded_pids | tr '\n' ' ') "
  for p in $(mwh_stack_ports); do
    pids=$(ss -ltnupH "sport = :$p" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u || true)
    for pid in $pids; do
      [[ $ours == *" $pid "* ]] && continue
      # children of our Postfix/Dovecot masters may hold inherited listeners
      [[ $ours == *" $(ps -o ppid= -p "$pid" | tr -d ' ') "* ]] && continue
      foreign+=("port $p is held by $(cat "/proc/$pid/comm" 2>/dev/null)[$pid]")
    done
  done
  for p in "$MWH_POSTFIX_PIDFILE" "$MWH_DOVECOT_PIDFILE" "$MWH_FAIL2BAN_PIDFILE"; do
    [ -s "$p" ] || continue
    pid=$(head -n1 "$p" | tr -dc 0-9)
    [ -n "$pid" ] || continue
    [ -n "$(mwh_starttime "$pid")" ] || continue
    [[ $ours == *" $pid "* ]] && continue
    foreign+=("$p names running process $(cat "/proc/$pid/comm" 2>/dev/null)[$pid]")
  done
  [ ${#foreign[@]} -eq 0 ] && return 0
  printf '[harness] refusing to start: mail/monitoring daemons not started by this harness are running:\n' >&2
  printf '  - %s\n' "${foreign[@]}" >&2
  printf '[harness] Stop them first (the harness only ever signals processes it recorded in %s).\n' "$MWH_RUN" >&2
  exit 2
}

# mwh_require_stack_host: the checks of the scripts that configure or start the stack
# (configure.sh, start.sh): mwh_require_disposable_host, then mwh_require_no_foreign_daemons.
mwh_require_stack_host() {
  mwh_require_disposable_host
  mwh_require_no_foreign_daemons
}

# The monitor user must exist for group lookups in checks; the DNS server runs as dnsmasq if the
# package created that account.
mwh_dns_user() { if id dnsmasq >/dev/null 2>&1; then echo dnsmasq; else echo nobody; fi; }
