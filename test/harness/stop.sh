#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stop everything start.sh started, and nothing else: only processes recorded in $MWH_RUN are
# signalled, and only while PID and start time still match (see lib.sh). Safe to run any time,
# also when nothing is running. Exits non-zero if a recorded process survived or a stack port is
# still in use afterwards.
#
#   sudo test/harness/stop.sh
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$HERE/env.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
mwh_require_root

# Prometheus first so it does not alert on the others going away; fail2ban before Postfix: its
# jails remove their iptables chains when the server stops; journald and rsyslogd last so the
# daemons' final log lines are kept.
mwh_stop prometheus 20
mwh_stop alertmanager 20
mwh_stop webhook 10
mwh_stop fail2ban 30
mwh_stop postfix 30
mwh_stop dovecot 20
mwh_stop opendkim 20
mwh_stop rspamd 20
mwh_stop provider-sinks 10
mwh_stop mta-sts 10
for s in sink-ok sink-bounce sink-grey; do mwh_stop "$s" 10 & done
wait
mwh_stop dnsmasq 10
mwh_stop dns-blackhole 10
mwh_stop journald 10
mwh_stop rsyslogd 10

if [ "$MWH_EGRESS_GUARD" = 1 ]; then
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    "$ipt" -w -nL MWH_EGRESS >/dev/null 2>&1 || continue
    while rule=$("$ipt" -w -S OUTPUT | grep -m1 -- '-j MWH_EGRESS$'); do
      # shellcheck disable=SC2086 # the rule spec is a list of arguments
      "$ipt" -w ${rule/-A OUTPUT/-D OUTPUT}
    done
    "$ipt" -w -F MWH_EGRESS
    "$ipt" -w -X MWH_EGRESS
  done
fi

rc=0
left=$(mwh_all_recorded_pids)
if [ -n "$left" ]; then
  mwh_log "still running after stop: $(echo "$left" | tr '\n' ' ')"
  rc=1
fi
# Children of the Postfix and Dovecot masters inherit the listening sockets and exit a moment
# after their master: give them a few seconds.
# shellcheck disable=SC2046 # a list of port numbers
for _ in $(seq 50); do
  busy=$(mwh_busy_ports $(mwh_stack_ports))
  [ -z "$busy" ] && break
  sleep 0.1
done
for p in $busy; do
  mwh_log "port $p is still in use: $(ss -ltnpH "sport = :$p" | grep -o 'users:.*' | head -n1)"
  rc=1
done
[ "$rc" = 0 ] && mwh_log "stack stopped"
exit "$rc"
