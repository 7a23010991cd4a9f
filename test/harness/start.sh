#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Start the configured stack without systemd, recording every process in $MWH_RUN (stop.sh
# signals exactly those). Idempotent: a component whose recorded process still runs is left alone.
#
#   sudo test/harness/start.sh
#
# Order matters: logging first (journald, then rsyslogd, which reads the journal), DNS and the
# loopback "remote MTAs", then OpenDKIM and Dovecot (Postfix needs the milter and the SASL/LMTP
# sockets), Postfix, fail2ban (once the logs exist), and the Prometheus stack.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$HERE/env.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
mwh_require_stack_host
if [ ! -e "/etc/postfix/$MWH_MARKER_NAME" ] || [ ! -s "$MWH_ETC/rsyslog.conf" ]; then
  mwh_die "the stack is not configured: run test/harness/configure.sh first"
fi
install -d -m 0755 "$MWH_RUN" "$MWH_VAR/log"

# ------------------------------------------------------------------ egress guard
# Safety net for "nothing leaves loopback": every packet the stack's service users send to a
# non-loopback interface is rejected and counted (check.sh asserts the count is zero).
if [ "$MWH_EGRESS_GUARD" = 1 ]; then
  guard_users="postfix opendkim _rspamd dovecot dovenull nobody prometheus $(mwh_dns_user) $MWH_MONITOR_USER"
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    if "$ipt" -w -N MWH_EGRESS 2>/dev/null; then
      "$ipt" -w -A MWH_EGRESS -o lo -j RETURN
      "$ipt" -w -A MWH_EGRESS -j REJECT
    fi
    for u in $guard_users; do
      id "$u" >/dev/null 2>&1 || continue
      "$ipt" -w -C OUTPUT -m owner --uid-owner "$u" -j MWH_EGRESS 2>/dev/null ||
        "$ipt" -w -I OUTPUT -m owner --uid-owner "$u" -j MWH_EGRESS
    done
  done
fi

# ------------------------------------------------------------------ systemd-journald + rsyslogd
host_journald=0
if ! mwh_running journald && [ -S "$MWH_JOURNAL_SOCKET" ] &&
  ss -xlH 2>/dev/null | grep -qF " $MWH_JOURNAL_SOCKET "; then
  # A journald we did not start (systemd host in CI): log into it instead of starting our own.
  host_journald=1
  mwh_log "using the systemd-journald already running on this machine"
  # Under systemd /dev/log already points at journald; after another syslog daemon went away it
  # may be missing or a dead socket, and then syslog(3) callers would log nowhere.
  if [ -S "$MWH_JOURNAL_DEVLOG" ] && ! logger -p mail.debug -t mailwatchd-harness "probe" 2>/dev/null; then
    ln -sfn "$MWH_JOURNAL_DEVLOG" /dev/log
  fi
fi
if [ "$host_journald" = 0 ] && ! mwh_running journald; then
  install -d -m 0755 /run/systemd/journal
  # stale sockets of an earlier journald (none is running: checked above)
  rm -f "$MWH_JOURNAL_DEVLOG" "$MWH_JOURNAL_SOCKET" /run/systemd/journal/stdout
  mwh_spawn journald /lib/systemd/systemd-journald
  for _ in $(seq 100); do [ -S "$MWH_JOURNAL_DEVLOG" ] && break; sleep 0.1; done
  [ -S "$MWH_JOURNAL_DEVLOG" ] || mwh_die "systemd-journald did not create $MWH_JOURNAL_DEVLOG"
  # syslog(3) callers (Postfix, Dovecot, OpenDKIM, PAM) write to /dev/log: route it to journald.
  ln -sfn "$MWH_JOURNAL_DEVLOG" /dev/log
  # Under systemd, tmpfiles gives the journal directories group systemd-journal and adm ACLs;
  # without that only root could read the journal (not the monitor user).
  logger -t mailwatchd-harness "journald started by the harness"
  systemd-tmpfiles --create --prefix=/run/log/journal --prefix=/var/log/journal >/dev/null 2>&1 || true
fi
if ! mwh_running rsyslogd; then
  # A fresh imjournal state starts at the end of the journal: no line is written twice.
  rm -f "$MWH_VAR/rsyslog/imjournal.state"
  mwh_spawn rsyslogd rsyslogd -n -f "$MWH_ETC/rsyslog.conf" -i "$MWH_RUN/rsyslogd.pidfile"
  # Ready once a line logged now reaches the mail log (imjournal starts reading asynchronously).
  token="rsyslogd ready $(date +%s%N)"
  for _ in $(seq 50); do
    logger -p mail.info -t mailwatchd-harness "$token"
    if grep -qF "$token" "$MWH_MAILLOG" 2>/dev/null; then break; fi
    sleep 0.2
  done
  grep -qF "$token" "$MWH_MAILLOG" || mwh_die "rsyslogd does not write $MWH_MAILLOG (see $MWH_VAR/log/rsyslogd.log)"
fi

# ------------------------------------------------------------------ loopback DNS
mwh_running dns-blackhole || mwh_spawn dns-blackhole python3 "$HERE/dns-blackhole.py" "$MWH_DNS_ADDR" "$MWH_DNS_HANG_PORT"
mwh_running dnsmasq || mwh_spawn dnsmasq dnsmasq --keep-in-foreground --conf-file="$MWH_ETC/dnsmasq.conf"

# ------------------------------------------------------------------ loopback "remote MTAs"
start_sink() { # NAME PORT SMTP-SINK-OPTIONS...
  local name=$1 port=$2; shift 2
  mwh_running "$name" || mwh_spawn "$name" smtp-sink -u nobody "$@" "127.0.0.1:$port" 64
}
start_sink sink-ok "$MWH_SINK_OK_PORT" -h "relay.$MWH_DOMAIN"
start_sink sink-bounce "$MWH_SINK_BOUNCE_PORT" -h "bounce.$MWH_DOMAIN" \
  -f RCPT -B "550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table"
start_sink sink-grey "$MWH_SINK_GREY_PORT" -h "greylist.$MWH_DOMAIN" \
  -r RCPT -b "451 4.7.1 Greylisted, please try again later"
# The provider-mapped sinks: one process, a listener per provider reply (configure.sh's table).
mwh_running provider-sinks || mwh_spawn provider-sinks setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
  /usr/bin/python3 "$HERE/provider-sink.py" "$MWH_ETC/provider-sinks.json"

# ------------------------------------------------------------------ MTA-STS policy host
# Root: port 443 is privileged, and the key (MWH_KEY, 0600) is re-read when the certificate is
# renewed. It only answers on MWH_MTASTS_ADDR; it never connects anywhere.
mwh_running mta-sts || mwh_spawn mta-sts /usr/bin/python3 "$HERE/mta-sts-server.py" --addr "$MWH_MTASTS_ADDR" \
  --port "$MWH_MTASTS_PORT" --host "$MWH_MTASTS_HOST" --policy "$MWH_MTASTS_POLICY" --cert "$MWH_CERT" --key "$MWH_KEY"

# ------------------------------------------------------------------ Rspamd
# In the foreground (-f) so the recorded PID is its main process; the workers run as _rspamd.
# Fresh state on every start (statistics, history): Rspamd's /stat counts this run's scans only.
if ! mwh_running rspamd; then
  rm -rf "$MWH_VAR/rspamd" "$MWH_RUN/rspamd"
  install -d -m 0750 -o _rspamd -g _rspamd "$MWH_VAR/rspamd" "$MWH_RUN/rspamd" "$(dirname "$MWH_RSPAMD_LOG")"
  mwh_spawn rspamd rspamd -f -u _rspamd -g _rspamd -c /etc/rspamd/rspamd.conf \
    --var="LOCAL_CONFDIR=$MWH_RSPAMD_CONF" --var="DBDIR=$MWH_VAR/rspamd" --var="RUNDIR=$MWH_RUN/rspamd"
fi

# ------------------------------------------------------------------ OpenDKIM, Dovecot, Postfix
mwh_running opendkim || mwh_spawn opendkim opendkim -f -x "$MWH_ETC/opendkim/opendkim.conf"
mwh_running dovecot || mwh_spawn dovecot dovecot -F -c /etc/dovecot/dovecot.conf
# Postfix has no foreground mode that keeps its command line: let it daemonize, then record the
# master from the pid file it writes.
if ! mwh_running postfix; then
  postfix start </dev/null >>"$MWH_VAR/log/postfix.log" 2>&1 ||
    { tail -n 20 "$MWH_VAR/log/postfix.log" >&2; mwh_die "postfix start failed"; }
  mwh_adopt_pidfile postfix "$MWH_POSTFIX_PIDFILE" 20
fi
mwh_wait_ports 30 "$MWH_SMTP_PORT" "$MWH_SUBMISSIONS_PORT" "$MWH_SUBMISSION_PORT" \
  "$MWH_IMAP_PORT" "$MWH_IMAPS_PORT" "$MWH_SIEVE_PORT" "$MWH_DKIM_PORT" "$MWH_DNS_PORT" \
  "$MWH_SINK_OK_PORT" "$MWH_SINK_BOUNCE_PORT" "$MWH_SINK_GREY_PORT" \
  "$MWH_RSPAMD_MILTER_PORT" "$MWH_RSPAMD_NORMAL_PORT" "$MWH_RSPAMD_CONTROLLER_PORT" \
  "$MWH_POSTSCREEN_PORT" "$MWH_RATELIMIT_PORT" "$MWH_TLS_SINK_VERIFIED_PORT" "$MWH_TLS_SINK_TRUSTED_PORT" "$MWH_TLS_SINK_UNTRUSTED_PORT" \
  $(seq "$MWH_PROVIDER_SINK_BASE" $((MWH_PROVIDER_SINK_BASE + 7))) "$MWH_MTASTS_PORT"
mwh_wait_http "$MWH_RSPAMD_URL/stat" 30 rspamd
for _ in $(seq 100); do [ -S "$MWH_SASL_SOCKET" ] && [ -S "$MWH_LMTP_SOCKET" ] && break; sleep 0.1; done

# ------------------------------------------------------------------ fail2ban
if ! mwh_running fail2ban; then
  install -d -m 0755 "$(dirname "$MWH_FAIL2BAN_SOCKET")" "$(dirname "$MWH_FAIL2BAN_PIDFILE")"
  rm -f "$MWH_FAIL2BAN_PIDFILE"
  # Bans of an earlier run would be restored from the database: start from an empty one.
  install -d -m 0755 "$(dirname "$MWH_FAIL2BAN_DB")"
  rm -f "$MWH_FAIL2BAN_DB" "$MWH_FAIL2BAN_DB-journal"
  fail2ban-client -c "$MWH_ETC/fail2ban" -x start </dev/null >>"$MWH_VAR/log/fail2ban.log" 2>&1 ||
    { tail -n 20 "$MWH_VAR/log/fail2ban.log" >&2; mwh_die "fail2ban failed to start"; }
  mwh_adopt_pidfile fail2ban "$MWH_FAIL2BAN_PIDFILE" 20
fi

# ------------------------------------------------------------------ Prometheus, Alertmanager, webhook
# Fresh TSDB and Alertmanager state on every start: stale series or a notification log from an
# earlier run would suppress or confuse what a test expects to see. Prometheus re-sends firing
# alerts every second (default: every minute): alerts evaluated before Alertmanager was
# discovered are otherwise lost for a minute.
as_prometheus=(setpriv --reuid=prometheus --regid=prometheus --init-groups --)
if ! mwh_running webhook; then
  mwh_spawn webhook python3 "$HERE/webhook.py" --port "$MWH_HOOK_PORT" --log "$MWH_HOOK_LOG"
fi
if ! mwh_running alertmanager; then
  rm -rf "$MWH_VAR/alertmanager"
  install -d -o prometheus -g prometheus "$MWH_VAR/alertmanager"
  mwh_spawn alertmanager "${as_prometheus[@]}" prometheus-alertmanager \
    --config.file="$MWH_ETC/prometheus/alertmanager.yml" \
    --storage.path="$MWH_VAR/alertmanager" \
    --web.listen-address="127.0.0.1:$MWH_AM_PORT" \
    --cluster.listen-address=
fi
if ! mwh_running prometheus; then
  rm -rf "$MWH_VAR/prometheus"
  install -d -o prometheus -g prometheus "$MWH_VAR/prometheus"
  mwh_spawn prometheus "${as_prometheus[@]}" prometheus \
    --config.file="$MWH_ETC/prometheus/prometheus.yml" \
    --storage.tsdb.path="$MWH_VAR/prometheus" \
    --storage.tsdb.retention.time=1d \
    --web.listen-address="127.0.0.1:$MWH_PROM_PORT" \
    --web.enable-lifecycle \
    --rules.alert.resend-delay=1s
fi
mwh_wait_http "$MWH_HOOK_URL/-/healthy" 15 webhook
mwh_wait_http "$MWH_AM_URL/-/ready" 30 alertmanager
mwh_wait_http "$MWH_PROM_URL/-/ready" 30 prometheus

mwh_log "stack running: smtp 25/465/587, imap 143/993, sieve $MWH_SIEVE_PORT, dns $MWH_DNS_SERVER, prometheus $MWH_PROM_URL"
