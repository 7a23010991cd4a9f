#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Sanity checks after traffic.sh: did the real stack log, queue and serve what the traffic plan
# says it should? Prints one line per check and exits 1 if any failed, so a broken stack is
# reported as such before any mailwatchd test runs against it.
#
#   sudo test/harness/check.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$HERE/env.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
mwh_require_root
[ -s "$MWH_PLAN_FILE" ] || mwh_die "no traffic plan at $MWH_PLAN_FILE: run test/harness/traffic.sh first"
# shellcheck disable=SC1090 # generated file
. "$MWH_PLAN_FILE"
[ -n "${MWH_PLAN_FINISHED:-}" ] || mwh_die "traffic.sh did not finish (see $MWH_PLAN_FILE)"

failed=0
verdict() { if "$@"; then echo ok; else echo FAIL; fi; } # COMMAND... -> ok|FAIL
report() { # ok|FAIL NAME DETAIL
  printf '  %-4s %-26s %s\n' "$1" "$2" "$3" >&2
  [ "$1" = ok ] || failed=1
}

# ------------------------------------------------------------------ log lines since the traffic started
# A log's new part is everything after the size it had when traffic.sh began.
new_lines() { # SOURCE: pf (Postfix), dv (Dovecot), dkim (OpenDKIM), f2b, trad (traditional-format copy)
  local file off
  case $1 in
    pf) if [ "$MWH_LOG_MODE" = file ]; then file=$MWH_POSTFIX_LOG off=$MWH_PLAN_POSTFIX_LOG_OFFSET; else file=$MWH_MAILLOG off=$MWH_PLAN_MAILLOG_OFFSET; fi ;;
    dv) if [ "$MWH_LOG_MODE" = file ]; then file=$MWH_DOVECOT_LOG off=$MWH_PLAN_DOVECOT_LOG_OFFSET; else file=$MWH_MAILLOG off=$MWH_PLAN_MAILLOG_OFFSET; fi ;;
    dkim) file=$MWH_MAILLOG off=$MWH_PLAN_MAILLOG_OFFSET ;;
    trad) file=$MWH_MAILLOG_TRAD off=$MWH_PLAN_MAILLOG_TRAD_OFFSET ;;
    f2b) file=$MWH_FAIL2BAN_LOG off=$MWH_PLAN_FAIL2BAN_LOG_OFFSET ;;
    rsp) file=$MWH_RSPAMD_LOG off=$MWH_PLAN_RSPAMD_LOG_OFFSET ;;
  esac
  tail -c "+$((off + 1))" "$file"
}

# name | source | minimum count | extended regex. One per kind of line the traffic plan causes.
sasl_min=$((MWH_PLAN_SASL_ATTACK < 5 ? MWH_PLAN_SASL_ATTACK : 5))
LOG_CHECKS=(
  "delivered-local|pf|$MWH_PLAN_LOCAL|postfix/lmtp\[[0-9]+\]: [0-9A-F]+: to=<[^>]+>, .*status=sent \(250 2\.0\.0 "
  "delivered-relay|pf|$MWH_PLAN_RELAY|relay=127\.0\.0\.1\[127\.0\.0\.1\]:$MWH_SINK_OK_PORT, .*status=sent"
  "deferred-refused|pf|$MWH_PLAN_DEFER|status=deferred .*Connection refused"
  "deferred-greylisted|pf|$MWH_PLAN_GREY|status=deferred .*451 4\.7\.1 Greylisted"
  "bounced-5xx|pf|$MWH_PLAN_BOUNCE|relay=127\.0\.0\.1\[127\.0\.0\.1\]:$MWH_SINK_BOUNCE_PORT, .*status=bounced .*550 5\.1\.1"
  "bounced-unknown-user|pf|$MWH_PLAN_UNKNOWN_LOCAL|status=bounced .*User doesn't exist"
  "rejected-relay-denied|pf|$MWH_PLAN_RELAY_DENIED|NOQUEUE: reject: RCPT from .*Relay access denied"
  "rejected-unknown-rcpt|pf|$MWH_PLAN_UNKNOWN_RCPT|NOQUEUE: reject: RCPT from .*User unknown in local recipient table"
  "held|pf|$MWH_PLAN_HOLD|: hold: RCPT from .*held for review"
  "expired|pf|$MWH_PLAN_EXPIRE|status=(force-)?expired, returned to sender"
  "sasl-failed|pf|$((sasl_min + MWH_PLAN_SASL_SCATTER))|warning: [^ ]+\[127\.[0-9.]+\]: SASL (LOGIN|PLAIN) authentication failed"
  "sasl-success|pf|$MWH_PLAN_SUBMIT|sasl_method=PLAIN, sasl_username="
  "tls-library-problem|pf|1|warning: TLS library problem"
  "tls-accept-error|pf|1|SSL_accept error from"
  "imap-login|dv|$MWH_PLAN_IMAP_OK|imap-login: (Info: )?Login: user=<"
  "imap-auth-failed|dv|$MWH_PLAN_IMAP_FAIL|imap-login: .*auth failed"
  "imap-tls-failed|dv|1|imap-login: .*TLS handshaking"
  "dkim-signed|dkim|$MWH_PLAN_LOCAL|opendkim\[[0-9]+\]: [0-9A-F]+: DKIM-Signature field added"
  "dkim-unknown-key|dkim|$MWH_PLAN_DKIM_BROKEN|signing table references unknown key"
  "fail2ban-ban|f2b|1|\[postfix-sasl\] Ban ${MWH_PLAN_SASL_ATTACKER//./\\.}"
  "rspamd-scanned|rsp|$MWH_PLAN_LOCAL|rspamd_task_write_log: .*\(default: [TFS] \(no action\)"
  "rspamd-reject|rsp|$MWH_PLAN_SPAM_REJECT|rspamd_task_write_log: .*\(default: [TFS] \(reject\)"
  "rspamd-add-header|rsp|$MWH_PLAN_SPAM_HEADER|rspamd_task_write_log: .*\(default: [TFS] \(add header\)"
  "rspamd-rewrite-subject|rsp|$MWH_PLAN_SPAM_SUBJECT|rspamd_task_write_log: .*\(default: [TFS] \(rewrite subject\)"
  "milter-reject-gtube|pf|$MWH_PLAN_SPAM_REJECT|milter-reject: END-OF-MESSAGE from .*: 5\.7\.1 Gtube pattern"
  "provider-deferred|pf|$((4 * MWH_PLAN_PROVIDER))|to=<[^@]+@(gmail|hotmail|yahoo)\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+, .*status=deferred"
  "provider-bounced|pf|$((4 * MWH_PLAN_PROVIDER))|to=<[^@]+@(gmail|outlook|aol|icloud)\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+, .*status=bounced"
  "provider-sent|pf|$((2 * MWH_PLAN_PROVIDER))|to=<[^@]+@(gmail|me)\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$MWH_SINK_OK_PORT, .*status=sent"
  "tls-in-anonymous|pf|$MWH_PLAN_TLS_IN|postfix/smtpd\[[0-9]+\]: Anonymous TLS connection established from"
  "tls-out-verified|pf|1|postfix/smtp\[[0-9]+\]: Verified TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$MWH_TLS_SINK_VERIFIED_PORT"
  "tls-out-trusted|pf|1|postfix/smtp\[[0-9]+\]: Trusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$MWH_TLS_SINK_TRUSTED_PORT"
  "tls-out-untrusted|pf|1|postfix/smtp\[[0-9]+\]: Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$MWH_TLS_SINK_UNTRUSTED_PORT"
  "lost-connection|pf|$((MWH_PLAN_DROP * $(tr -cd , <<< "$MWH_PLAN_DROPS" | wc -c) + MWH_PLAN_DROP))|smtpd\[[0-9]+\]: lost connection after [A-Z-]+( \([0-9]+ bytes\))? from [^ ]*\[127\.0\.6\."
  # postscreen: at least one of each kind (its verdict on one client can depend on timing under
  # load: a pregreet client was once let through without any verdict); e2e compares exact counts.
  "postscreen-pass-new|pf|1|postscreen\[[0-9]+\]: PASS NEW "
  "postscreen-pass-old|pf|1|postscreen\[[0-9]+\]: PASS OLD "
  "postscreen-pregreet|pf|1|postscreen\[[0-9]+\]: PREGREET "
  "postscreen-hangup|pf|1|postscreen\[[0-9]+\]: HANGUP "
  "postscreen-non-smtp|pf|1|postscreen\[[0-9]+\]: NON-SMTP COMMAND "
  "postscreen-bare-newline|pf|1|postscreen\[[0-9]+\]: BARE NEWLINE "
  "postscreen-pipelining|pf|1|postscreen\[[0-9]+\]: COMMAND PIPELINING "
  "postscreen-allowlisted|pf|1|postscreen\[[0-9]+\]: ALLOWLISTED "
  "anvil-rate-limit|pf|1|warning: Connection rate limit exceeded: [0-9]+ from [^ ]+ for service 127\.0\.0\.1:$MWH_RATELIMIT_PORT"
)
if [ "$MWH_LOG_MODE" = syslog ]; then
  LOG_CHECKS+=("traditional-format|trad|$MWH_PLAN_LOCAL|^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+ postfix/lmtp\[")
fi

# Syslog delivery and fail2ban's polling lag a little behind the traffic: poll with a deadline.
mwh_log "checking logs"
declare -A got
deadline=$((SECONDS + 30))
while :; do
  pending=0
  for c in "${LOG_CHECKS[@]}"; do
    IFS='|' read -r name src min re <<< "$c"
    got[$name]=$(new_lines "$src" | grep -cE -- "$re" || true)
    [ "${got[$name]}" -ge "$min" ] || pending=1
  done
  if [ "$pending" = 0 ] || [ "$SECONDS" -ge "$deadline" ]; then break; fi
  sleep 1
done
for c in "${LOG_CHECKS[@]}"; do
  IFS='|' read -r name src min re <<< "$c"
  if [ "${got[$name]}" -ge "$min" ]; then st=ok; else st=FAIL; fi
  report "$st" "log:$name" "${got[$name]} lines (want >= $min): /$re/"
done

# The journal got the same lines (our journald owns /dev/log).
if [ "$MWH_LOG_MODE" = syslog ]; then ids=(postfix/smtpd postfix/qmgr dovecot opendkim); else ids=(opendkim); fi
for id in "${ids[@]}"; do
  n=$(journalctl -q --no-pager -o cat --since "@$MWH_PLAN_STARTED" -t "$id" 2>/dev/null | grep -c . || true)
  if [ "$n" -gt 0 ]; then st=ok; else st=FAIL; fi
  report "$st" "journal:$id" "$n entries since the traffic started"
done

# ------------------------------------------------------------------ queue
mwh_log "checking the queue"
read -r deferred hold refused grey < <(postqueue -j | python3 -c '
import json, sys
n = {"deferred": 0, "hold": 0, "refused": 0, "grey": 0}
for line in sys.stdin:
    m = json.loads(line)
    if m["queue_name"] in n:
        n[m["queue_name"]] += 1
    reasons = " ".join(r.get("delay_reason", "") for r in m["recipients"])
    n["refused"] += "Connection refused" in reasons
    n["grey"] += "Greylisted" in reasons
print(n["deferred"], n["hold"], n["refused"], n["grey"])')
want_refused=$((MWH_PLAN_DEFER - MWH_PLAN_EXPIRE))
st=$(verdict [ "$deferred" -eq "$MWH_PLAN_DEFERRED_EXPECTED" ])
report "$st" "queue:deferred" "$deferred messages (want $MWH_PLAN_DEFERRED_EXPECTED)"
st=$(verdict [ "$refused" -eq "$want_refused" ])
report "$st" "queue:deferred-refused" "$refused with 'Connection refused' (want $want_refused)"
st=$(verdict [ "$grey" -eq "$MWH_PLAN_GREY" ])
report "$st" "queue:deferred-greylisted" "$grey with 'Greylisted' (want $MWH_PLAN_GREY)"
st=$(verdict [ "$hold" -eq "$MWH_PLAN_HOLD_EXPECTED" ])
report "$st" "queue:hold" "$hold messages (want $MWH_PLAN_HOLD_EXPECTED)"

# ------------------------------------------------------------------ fail2ban
banned=$(fail2ban-client -c "$MWH_ETC/fail2ban" get postfix-sasl banip 2>/dev/null || true)
st=$(verdict grep -qwF -- "$MWH_PLAN_SASL_ATTACKER" <<< "$banned")
report "$st" "fail2ban:postfix-sasl" "banned: ${banned:-none} (want $MWH_PLAN_SASL_ATTACKER)"

# ------------------------------------------------------------------ TLS endpoints serve the harness certificate
mwh_log "checking TLS endpoints and DNS"
want_fp=$(openssl x509 -in "$MWH_CERT" -noout -fingerprint -sha256)
for ep in "smtp $MWH_SMTP_PORT -starttls smtp" "submission $MWH_SUBMISSION_PORT -starttls smtp" \
  "submissions $MWH_SUBMISSIONS_PORT" "imap $MWH_IMAP_PORT -starttls imap" "imaps $MWH_IMAPS_PORT" \
  "sieve $MWH_SIEVE_PORT -starttls sieve"; do
  read -r name port starttls <<< "$ep"
  # shellcheck disable=SC2086 # $starttls is "-starttls PROTO" or empty
  fp=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" $starttls -servername "$MWH_HOSTNAME" </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null || true)
  st=$(verdict [ "$fp" = "$want_fp" ])
  if [ -z "$fp" ]; then what="no certificate"
  elif [ "$fp" = "$want_fp" ]; then what="serves the harness certificate"
  else what="serves another certificate ($fp)"; fi
  report "$st" "tls:$name" "127.0.0.1:$port $what"
done

# ------------------------------------------------------------------ loopback DNS
dns() { python3 "$HERE/mailclient.py" dns --server "$MWH_DNS_SERVER" "$1" "$2" 2>&1 | tr '\n' ' '; }
revip() { local a b c d; IFS=. read -r a b c d <<< "$1"; echo "$d.$c.$b.$a"; }
DNS_CHECKS=(
  "$MWH_DOMAIN MX|MX 10 $MWH_HOSTNAME"
  "$MWH_HOSTNAME A|A 127.0.0.1"
  "1.0.0.127.in-addr.arpa PTR|PTR $MWH_HOSTNAME"
  "$MWH_DOMAIN TXT|TXT v=spf1 "
  "_dmarc.$MWH_DOMAIN TXT|TXT v=DMARC1; "
  "$MWH_DKIM_SELECTOR._domainkey.$MWH_DOMAIN TXT|TXT $(cut -c1-40 "$MWH_DKIM_DIR/$MWH_DKIM_SELECTOR.dns.txt")"
  "$(revip "$MWH_DNSBL_LISTED_IP").$MWH_DNSBL_ZONE A|A 127.0.0.2"
  "$(revip "$MWH_DNSBL_ERROR_IP").$MWH_DNSBL_ZONE A|A 127.255.255.254"
  "$(revip "$MWH_DNSBL_CLEAN_IP").$MWH_DNSBL_ZONE A|RCODE NXDOMAIN"
  "example.com A|RCODE REFUSED"
  "$MWH_MTASTS_HOST A|A $MWH_MTASTS_ADDR"
  "_mta-sts.$MWH_DOMAIN TXT|TXT v=STSv1; id=$MWH_MTASTS_ID;"
  "_smtp._tls.$MWH_DOMAIN TXT|TXT v=TLSRPTv1; rua="
)
for c in "${DNS_CHECKS[@]}"; do
  IFS='|' read -r q want <<< "$c"
  # shellcheck disable=SC2086 # "NAME TYPE"
  ans=$(dns $q)
  st=$(verdict grep -qF -- "$want" <<< "$ans")
  report "$st" "dns:${q// /:}" "${ans% }"
done

# ------------------------------------------------------------------ MTA-STS policy host
# As a sender fetches it: the name, port 443, the certificate verified against the harness one.
pol=$(curl -fsS --max-time 5 --resolve "$MWH_MTASTS_HOST:$MWH_MTASTS_PORT:$MWH_MTASTS_ADDR" --cacert "$MWH_CERT" \
  "https://$MWH_MTASTS_HOST/.well-known/mta-sts.txt" 2>&1 | tr -d '\r' | tr '\n' ' ' || true)
st=$(verdict grep -qF -- "mx: $MWH_HOSTNAME" <<< "$pol")
report "$st" "mta-sts:policy" "https://$MWH_MTASTS_HOST (at $MWH_MTASTS_ADDR): ${pol% }"

# ------------------------------------------------------------------ Prometheus stack
mwh_log "checking Prometheus and the alerting pipeline"
deadline=$((SECONDS + 60))
targets_ok=0 alert_ok=0
while :; do
  if [ "$targets_ok" = 0 ]; then
    t=$(curl -fsS --max-time 5 "$MWH_PROM_URL/api/v1/targets?state=active" | python3 -c '
import json, sys
want = {"prometheus", "alertmanager", "webhook"}
up = {t["labels"]["job"] for t in json.load(sys.stdin)["data"]["activeTargets"] if t["health"] == "up"}
print(" ".join(sorted(want & up)) if want <= up else "")' 2>/dev/null || true)
    [ -n "$t" ] && targets_ok=1
  fi
  if [ "$alert_ok" = 0 ] && curl -fsS --max-time 5 "$MWH_HOOK_URL/alerts" 2>/dev/null | grep -q '"alertname": "HarnessWatchdog"'; then
    alert_ok=1
  fi
  if [ "$targets_ok$alert_ok" = 11 ] || [ "$SECONDS" -ge "$deadline" ]; then break; fi
  sleep 1
done
st=$(verdict [ "$targets_ok" = 1 ])
report "$st" "prometheus:targets" "jobs prometheus, alertmanager, webhook up"
st=$(verdict [ "$alert_ok" = 1 ])
report "$st" "alerting:webhook" "HarnessWatchdog went Prometheus -> Alertmanager -> webhook"

# ------------------------------------------------------------------ Rspamd
# Only modules that need neither the network nor Redis run (configure.sh switches the others
# off), and its controller counts what the traffic sent.
mwh_log "checking Rspamd"
modules=$(rspamadm --var="LOCAL_CONFDIR=$MWH_RSPAMD_CONF" configdump -m -c /etc/rspamd/rspamd.conf 2>/dev/null || true)
allowed=" chartable milter_headers force_actions maillist bayes_expiry forged_recipients settings emails regexp trie "
unexpected=""
for m in $(sed -n 's/^Modules enabled: //p' <<< "$modules" | tr ',' ' '); do
  [[ $allowed == *" $m "* ]] || unexpected+=" $m"
done
failed_modules=$(sed -n 's/^Modules disabled (failed): //p' <<< "$modules")
modules_ok() { [ -n "$modules" ] && [ -z "$unexpected" ] && [ -z "$failed_modules" ]; }
st=$(verdict modules_ok)
report "$st" "rspamd:modules" "enabled: $(sed -n 's/^Modules enabled: //p' <<< "$modules")${unexpected:+; not expected:$unexpected}${failed_modules:+; failed: $failed_modules}"
scanned=$(curl -fsS --max-time 5 "$MWH_RSPAMD_URL/stat" | python3 -c 'import json, sys; print(json.load(sys.stdin)["scanned"])' || echo 0)
st=$(verdict [ "$scanned" -ge "$MWH_PLAN_LOCAL" ])
report "$st" "rspamd:stat" "$MWH_RSPAMD_URL/stat: $scanned messages scanned (want >= $MWH_PLAN_LOCAL)"

# ------------------------------------------------------------------ monitor user and egress guard
m=$MWH_MONITOR_USER
# shellcheck disable=SC2317 # called through verdict
as_m() { runuser -u "$m" -- "$@" >/dev/null 2>&1; }
for g in ${MWH_MONITOR_GROUPS//,/ }; do
  st=$(verdict grep -qx -- "$g" < <(id -nG "$m" | tr ' ' '\n'))
  report "$st" "monitor:group-$g" "$m is in group $g"
done
st=$(verdict as_m test -r "$MWH_MAILLOG")
report "$st" "monitor:read-maillog" "$m can read $MWH_MAILLOG"
st=$(verdict as_m postqueue -j)
report "$st" "monitor:postqueue" "$m can run postqueue -j"
st=$(verdict as_m journalctl -q -n 1 -t opendkim)
report "$st" "monitor:journal" "$m can read the journal"

if [ "$MWH_EGRESS_GUARD" = 1 ]; then
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    n=$("$ipt" -w -nvxL MWH_EGRESS 2>/dev/null | awk '$3 == "REJECT" { print $1 }')
    st=$(verdict [ "${n:-x}" = 0 ])
    report "$st" "egress:$ipt" "${n:-no guard chain}: packets from stack users that tried to leave loopback"
  done
fi

if [ "$failed" = 0 ]; then mwh_log "all sanity checks passed"; else mwh_log "sanity checks FAILED"; fi
exit "$failed"
