#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The client snippets are single-quoted on purpose: the xargs children expand them.
# shellcheck disable=SC2016
# Drive real mail traffic through the running stack (start.sh first) and write down what was sent
# to $MWH_PLAN_FILE, so check.sh and the e2e tests can compare what the stack logged and queued.
#
#   sudo test/harness/traffic.sh                 # default volumes (about 1 minute on 2 cores)
#   sudo MWH_SCALE=5 test/harness/traffic.sh     # multiply the bulk volumes
#   sudo MWH_N_DEFER=100 MWH_N_HOLD=0 test/harness/traffic.sh   # any single volume
#
# The queue is emptied first (postsuper -d ALL) and bans are lifted, so the counts below are
# exactly what ends up in the queue. Client addresses (all 127.0.0.0/8, routed to lo):
#   127.0.0.1            trusted (mynetworks, OpenDKIM internal host): bulk mail, relay, hold
#   127.0.0.2-.30        "internet" MTAs delivering inbound mail
#   127.0.1.1-.250       relay attempts; 127.0.2.1-.250 unknown recipients (spread out so that
#                        fail2ban's postfix jail bans nobody before MWH_SCALE is about 100)
#   127.0.0.40-.49       roaming users: SASL-authenticated submission, IMAP logins
#   127.0.0.66           SASL brute-forcer: banned by fail2ban's postfix-sasl jail
#   127.0.0.100-.149     scattered SASL failures (one per address, below maxretry)
#   127.0.0.150-.199     scattered IMAP login failures (one per address)
#   127.0.0.200-.229     failed TLS handshakes
#   127.0.0.50-.59       inbound spam (Rspamd GTUBE variants); 127.0.0.60-.69 inbound STARTTLS
#   127.0.6.1-.250       lost connections (one address each); 127.0.5.1-.250 postscreen clients
#   127.0.7.5            saturation: connection rate limit
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$HERE/env.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
mwh_require_root
mwh_running postfix || mwh_die "the stack is not running: run test/harness/start.sh first"

S=${MWH_SCALE:-1}
N_LOCAL=${MWH_N_LOCAL:-$((60 * S))}            # smtp-source -> local users over LMTP (status=sent, DKIM-signed)
N_RELAY=${MWH_N_RELAY:-$((60 * S))}            # smtp-source -> relay.example.test sink (status=sent)
N_SENDMAIL=${MWH_N_SENDMAIL:-$((10 * S))}      # sendmail(1) as local users -> local users (pickup)
N_UNKNOWN_LOCAL=${MWH_N_UNKNOWN_LOCAL:-$((4 * S))} # sendmail(1) -> unknown local user (bounced, unknown user)
N_BOUNCE=${MWH_N_BOUNCE:-$((10 * S))}          # -> bounce.example.test, 550 at RCPT (status=bounced)
N_DEFER=${MWH_N_DEFER:-$((20 * S))}            # -> partner domains via dead relayhost (deferred, Connection refused)
N_GREY=${MWH_N_GREY:-$((10 * S))}              # -> greylist.example.test, 451 at RCPT (deferred)
N_HOLD=${MWH_N_HOLD:-$((5 * S))}               # -> hold.example.test (HOLD: hold queue)
N_EXPIRE=${MWH_N_EXPIRE:-3}                    # refused deferred messages force-expired (returned to sender)
N_INBOUND=${MWH_N_INBOUND:-$((15 * S))}        # internet client -> local user (accepted)
N_SUBMIT=${MWH_N_SUBMIT:-$((8 * S))}           # SASL-authenticated submission on 587/465 -> relay sink
N_DKIM_BROKEN=${MWH_N_DKIM_BROKEN:-2}          # From @broken.example.test: "signing table references unknown key"
N_RELAY_DENIED=${MWH_N_RELAY_DENIED:-$((8 * S))}   # 554 Relay access denied
N_UNKNOWN_RCPT=${MWH_N_UNKNOWN_RCPT:-$((8 * S))}   # 550 User unknown in local recipient table
N_SASL_ATTACK=${MWH_N_SASL_ATTACK:-6}          # failed AUTH from 127.0.0.66 (fail2ban bans after 5)
N_SASL_SCATTER=${MWH_N_SASL_SCATTER:-$((5 * S))}   # failed AUTH, one per address
N_IMAP_OK=${MWH_N_IMAP_OK:-$((6 * S))}         # successful IMAP logins (993 and 143+STARTTLS)
N_IMAP_FAIL=${MWH_N_IMAP_FAIL:-$((6 * S))}     # failed IMAP logins, one per address
N_TLS_FAIL=${MWH_N_TLS_FAIL:-$((8 * S))}       # failed TLS handshakes on 25/465/587/993
N_SPAM_REJECT=${MWH_N_SPAM_REJECT:-$((3 * S))}  # inbound with Rspamd's GTUBE: milter reject
N_SPAM_HEADER=${MWH_N_SPAM_HEADER:-$((2 * S))}  # GTUBE "Y" variant: add header
N_SPAM_SUBJECT=${MWH_N_SPAM_SUBJECT:-$((2 * S))} # GTUBE "Z" variant: rewrite subject
N_PROVIDER=${MWH_N_PROVIDER:-$((2 * S))}       # to each provider-mapped address (8 refuse, 2 accept)
N_TLS_OUT=${MWH_N_TLS_OUT:-$((2 * S))}         # to each loopback TLS sink (verified, trusted, untrusted)
N_TLS_IN=${MWH_N_TLS_IN:-$((4 * S))}           # inbound on 25 with STARTTLS
N_DROP=${MWH_N_DROP:-2}                        # lost connections per (service, stage) pair
N_POSTSCREEN=${MWH_N_POSTSCREEN:-2}            # postscreen clients of each kind
PAR=${MWH_PARALLEL:-8}                         # concurrent clients
[ "$N_EXPIRE" -le "$N_DEFER" ] || N_EXPIRE=$N_DEFER
SASL_ATTACKER=127.0.0.66

D=$MWH_DOMAIN
read -ra USERS <<< "$MWH_USERS"
export D MWH_HOSTNAME HERE

# ------------------------------------------------------------------ helpers
# Helpers run in xargs children, so they are exported functions. Client failures are the point
# of most phases: a client's exit status is never fatal here (check.sh verifies the outcome).
sw() { swaks --server 127.0.0.1 --timeout 20 --hide-all "$@" >/dev/null 2>&1 || true; }
client() { python3 "$HERE/mailclient.py" "$@" >/dev/null 2>&1 || true; }
user_of() { local u; read -ra u <<< "$MWH_USERS"; echo "${u[$1 % ${#u[@]}]}"; }
password_of() { printf '%s-Harness-1' "$1"; }
export -f sw client user_of password_of
export MWH_USERS

par() { # COUNT 'snippet using $1 as index 1..COUNT' [PARALLEL]
  [ "$1" -gt 0 ] || return 0
  seq 1 "$1" | xargs -P "${3:-$PAR}" -I{} bash -c "$2" _ {}
}

source_mail() { # COUNT RECIPIENT SENDER SUBJECT: smtp-source from 127.0.0.1, 4 sessions
  [ "$1" -gt 0 ] || return 0
  smtp-source -s 4 -m "$1" -l 1500 -M "client.$D" -f "$3" -t "$2" -S "$4" 127.0.0.1:"$MWH_SMTP_PORT" 2>&1 |
    grep -v '^$' >&2 || true
}

queue_busy() { # messages still in maildrop/incoming/active
  find "$MWH_POSTFIX_SPOOL"/{maildrop,incoming,active} -type f 2>/dev/null | wc -l
}

wait_queue_idle() { # TIMEOUT: until every message got its first delivery attempt
  local i n
  for ((i = 0; i < $1 * 5; i++)); do
    n=$(queue_busy)
    [ "$n" -eq 0 ] && return 0
    sleep 0.2
  done
  mwh_die "queue not idle after $1 s ($n messages in maildrop/incoming/active)"
}

queue_ids() { # QUEUE|any [REASON-SUBSTRING [LIMIT]]: queue IDs from postqueue -j
  postqueue -j | python3 -c '
import json, sys
queue, reason, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
ids = []
for line in sys.stdin:
    m = json.loads(line)
    if queue in ("any", m["queue_name"]) and any(reason in r.get("delay_reason", "") for r in m["recipients"]):
        ids.append(m["queue_id"])
print("\n".join(ids[:limit] if limit >= 0 else ids))' "$1" "${2:-}" "${3:--1}"
}

size_of() { [ -e "$1" ] && stat -c %s "$1" || echo 0; }

# ------------------------------------------------------------------ reset and plan header
mwh_log "resetting: empty queue, no bans"
postsuper -d ALL >/dev/null 2>&1 || true
# postscreen's cache: every client of this run is new to it (PASS NEW first, then PASS OLD); the
# postscreen process started by the reload below opens a fresh one.
rm -f "$(postconf -h data_directory)/postscreen_cache.db"
# qmgr remembers a destination that refused a connection (mail of an earlier run retried at start)
# and then defers new mail for it with "delivery temporarily suspended", without the
# "connect to ...: Connection refused" line the plan counts on. A reload replaces qmgr.
qmgr_before=$(pgrep -x qmgr || true)
postfix reload >/dev/null 2>&1 || mwh_die "postfix reload failed"
for _ in $(seq 100); do
  qmgr_now=$(pgrep -x qmgr || true)
  [ -n "$qmgr_now" ] && [ "$qmgr_now" != "$qmgr_before" ] && break
  sleep 0.1
done
if [ -z "$qmgr_now" ] || [ "$qmgr_now" = "$qmgr_before" ]; then
  mwh_die "qmgr was not restarted by postfix reload"
fi
fail2ban-client -c "$MWH_ETC/fail2ban" unban --all >/dev/null 2>&1 || true
{
  echo "# written by test/harness/traffic.sh; sourced by check.sh and exported to e2e tests"
  echo "MWH_PLAN_STARTED=$(date +%s)"
  echo "MWH_PLAN_MAILLOG_OFFSET=$(size_of "$MWH_MAILLOG")"
  echo "MWH_PLAN_MAILLOG_TRAD_OFFSET=$(size_of "$MWH_MAILLOG_TRAD")"
  echo "MWH_PLAN_POSTFIX_LOG_OFFSET=$(size_of "$MWH_POSTFIX_LOG")"
  echo "MWH_PLAN_DOVECOT_LOG_OFFSET=$(size_of "$MWH_DOVECOT_LOG")"
  echo "MWH_PLAN_FAIL2BAN_LOG_OFFSET=$(size_of "$MWH_FAIL2BAN_LOG")"
  echo "MWH_PLAN_RSPAMD_LOG_OFFSET=$(size_of "$MWH_RSPAMD_LOG")"
  # Rspamd's own action counts now (its controller's /stat), as action=count pairs
  echo "MWH_PLAN_RSPAMD_ACTIONS_START=$(curl -fsS --max-time 5 "$MWH_RSPAMD_URL/stat" | python3 -c '
import json, sys
print(",".join("%s=%d" % (a.replace(" ", "_"), n) for a, n in sorted(json.load(sys.stdin)["actions"].items())))')"
  echo "MWH_PLAN_LOG_MODE=$MWH_LOG_MODE"
} > "$MWH_PLAN_FILE"
plan() { echo "MWH_PLAN_$1=$2" >> "$MWH_PLAN_FILE"; }

# ------------------------------------------------------------------ accepted mail from 127.0.0.1
mwh_log "bulk: $N_LOCAL local, $N_RELAY relayed, $N_BOUNCE bounced, $N_DEFER refused, $N_GREY greylisted, $N_HOLD held"
n_each=$((N_LOCAL / ${#USERS[@]}))
for i in "${!USERS[@]}"; do
  n=$n_each
  [ "$i" -eq 0 ] && n=$((N_LOCAL - n_each * (${#USERS[@]} - 1)))
  source_mail "$n" "${USERS[$i]}@$D" "${USERS[0]}@$D" "daily report for ${USERS[$i]}"
done
source_mail "$N_RELAY" "reader@relay.$D" "${USERS[0]}@$D" "newsletter"
source_mail "$N_BOUNCE" "gone@bounce.$D" "${USERS[0]}@$D" "invoice"
n_a=$((N_DEFER / 2))
source_mail "$n_a" "orders@partner-a.test" "${USERS[0]}@$D" "order"
source_mail $((N_DEFER - n_a)) "sales@partner-b.test" "${USERS[0]}@$D" "quote"
source_mail "$N_GREY" "info@greylist.$D" "${USERS[0]}@$D" "first contact"
source_mail "$N_HOLD" "review@hold.$D" "${USERS[0]}@$D" "needs review"
plan LOCAL "$N_LOCAL"; plan RELAY "$N_RELAY"; plan BOUNCE "$N_BOUNCE"
plan DEFER "$N_DEFER"; plan GREY "$N_GREY"; plan HOLD "$N_HOLD"

mwh_log "sendmail: $N_SENDMAIL local, $N_UNKNOWN_LOCAL to unknown local users"
par "$N_SENDMAIL" '
  from=$(user_of "$1"); to=$(user_of $(($1 + 1)))
  printf "From: %s@%s\nTo: %s@%s\nSubject: cron output %s\n\nok\n" "$from" "$D" "$to" "$D" "$1" |
    runuser -u "$from" -- /usr/sbin/sendmail -t -i'
par "$N_UNKNOWN_LOCAL" '
  from=$(user_of "$1")
  printf "From: %s@%s\nTo: nosuchuser%s@%s\nSubject: typo %s\n\noops\n" "$from" "$D" "$1" "$D" "$1" |
    runuser -u "$from" -- /usr/sbin/sendmail -t -i'
plan SENDMAIL "$N_SENDMAIL"; plan UNKNOWN_LOCAL "$N_UNKNOWN_LOCAL"

mwh_log "dkim: $N_DKIM_BROKEN from $MWH_DKIM_BROKEN_DOMAIN (no key for it)"
par "$N_DKIM_BROKEN" 'sw --helo "app.$D" -f "app$1@'"$MWH_DKIM_BROKEN_DOMAIN"'" -t "ops$1@relay.$D" --header "Subject: broken key $1"'
plan DKIM_BROKEN "$N_DKIM_BROKEN"

# ------------------------------------------------------------------ clients from the "internet"
mwh_log "inbound: $N_INBOUND accepted, $N_RELAY_DENIED relay attempts, $N_UNKNOWN_RCPT unknown recipients"
par "$N_INBOUND" '
  sw -li "127.0.0.$((2 + $1 % 29))" --helo "mx$1.sender.test" -f "news$1@sender.test" \
     -t "$(user_of "$1")@$D" --header "Subject: inbound $1"'
par "$N_RELAY_DENIED" '
  sw -li "127.0.1.$((1 + $1 % 250))" --helo "bulk$1.spam.test" -f "promo$1@spam.test" -t "victim$1@elsewhere.test"'
par "$N_UNKNOWN_RCPT" '
  sw -li "127.0.2.$((1 + $1 % 250))" --helo "mx.dict.test" -f "probe$1@dict.test" -t "nobody$1@$D"'
plan INBOUND "$N_INBOUND"; plan RELAY_DENIED "$N_RELAY_DENIED"; plan UNKNOWN_RCPT "$N_UNKNOWN_RCPT"

mwh_log "submission: $N_SUBMIT authenticated on 587/465"
par "$N_SUBMIT" '
  u=$(user_of "$1")
  if (($1 % 2)); then tls=(--port 587 -tls); else tls=(--port 465 -tlsc); fi
  sw -li "127.0.0.$((40 + $1 % 10))" "${tls[@]}" -a PLAIN -au "$u" -ap "$(password_of "$u")" \
     --helo "laptop$1.home.test" -f "$u@$D" -t "client$1@relay.$D" --header "Subject: submitted $1"'
plan SUBMIT "$N_SUBMIT"

mwh_log "sasl: $N_SASL_ATTACK failures from $SASL_ATTACKER (fail2ban bans it), $N_SASL_SCATTER scattered"
# All attempts at once: Dovecot delays each further failure from one address (2, 4, 8, 15 s),
# and an attempt still in flight when fail2ban bans the address would hang until its timeout.
par "$N_SASL_ATTACK" '
  sw -li '"$SASL_ATTACKER"' --timeout 8 --port 587 -tls -a LOGIN -au "admin" -ap "guess$1" \
     --helo "bot.attack.test" -f "x@attack.test" -t "x@'"$D"'" --quit-after AUTH' "$N_SASL_ATTACK"
par "$N_SASL_SCATTER" '
  u=$(user_of "$1")
  sw -li "127.0.0.$((100 + $1 % 50))" --port 465 -tlsc -a PLAIN -au "$u" -ap "typo$1" \
     --helo "phone.home.test" -f "$u@'"$D"'" -t "x@'"$D"'" --quit-after AUTH'
plan SASL_ATTACK "$N_SASL_ATTACK"; plan SASL_SCATTER "$N_SASL_SCATTER"; plan SASL_ATTACKER "$SASL_ATTACKER"

mwh_log "imap: $N_IMAP_OK logins, $N_IMAP_FAIL failed logins"
par "$N_IMAP_OK" '
  u=$(user_of "$1"); if (($1 % 2)); then t=implicit; else t=starttls; fi
  client imap --src "127.0.0.$((40 + $1 % 10))" --user "$u" --password "$(password_of "$u")" --tls "$t"'
par "$N_IMAP_FAIL" '
  if (($1 % 2)); then t=implicit; else t=starttls; fi
  client imap --src "127.0.0.$((150 + $1 % 50))" --user "$(user_of "$1")" --password "wrong$1" --tls "$t"'
plan IMAP_OK "$N_IMAP_OK"; plan IMAP_FAIL "$N_IMAP_FAIL"

mwh_log "tls: $N_TLS_FAIL failed handshakes"
par "$N_TLS_FAIL" '
  src="127.0.0.$((200 + $1 % 30))"
  case $(($1 % 4)) in
    0) client tls-fail --src "$src" --port 465 --how tls11 ;;
    1) client tls-fail --src "$src" --port 25 --how starttls-tls11 ;;
    2) client tls-fail --src "$src" --port 587 --how starttls-garbage ;;
    3) client tls-fail --src "$src" --port 993 --how tls11 ;;
  esac'
plan TLS_FAIL "$N_TLS_FAIL"

# ------------------------------------------------------------------ Rspamd verdicts
# GTUBE-like test strings in the body (Rspamd's gtube_patterns; enable_test_patterns is on): the
# X pattern rejects (milter-reject at end of data), Y adds the spam header, Z rewrites the subject.
# Every other message of the traffic is scanned too and gets "no action".
GTUBE_TAIL='JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
export GTUBE_TAIL
mwh_log "rspamd: $N_SPAM_REJECT GTUBE (reject), $N_SPAM_HEADER add header, $N_SPAM_SUBJECT rewrite subject"
spam() { # COUNT LETTER: inbound mail from 127.0.0.50-.59 with the GTUBE variant LETTER
  par "$1" '
    sw -li "127.0.0.$((50 + $1 % 10))" --helo "mx$1.bulk.test" -f "offer$1@bulk.test" -t "$(user_of "$1")@$D" \
       --header "Subject: offer '"$2"'$1" --body "Dear customer,
'"$2"'$GTUBE_TAIL
regards"'
}
spam "$N_SPAM_REJECT" X; spam "$N_SPAM_HEADER" Y; spam "$N_SPAM_SUBJECT" Z
plan SPAM_REJECT "$N_SPAM_REJECT"; plan SPAM_HEADER "$N_SPAM_HEADER"; plan SPAM_SUBJECT "$N_SPAM_SUBJECT"

# ------------------------------------------------------------------ provider-mapped sinks, outbound TLS
mwh_log "providers: $N_PROVIDER each to 8 refusing and 2 accepting provider addresses; tls out: $N_TLS_OUT per trust level"
for rcpt in rate@gmail.com lowrep@gmail.com spam@gmail.com postmaster@outlook.com someone@hotmail.com \
  someone@yahoo.com someone@aol.com someone@icloud.com ok@gmail.com friend@me.com; do
  source_mail "$N_PROVIDER" "$rcpt" "${USERS[0]}@$D" "provider test"
done
# deferred: Gmail 421 (2 addresses), Microsoft 451, Yahoo 421; bounced: Gmail 550, Microsoft 550,
# Yahoo 553, Apple 554; sent: ok@gmail.com, me.com
plan PROVIDER "$N_PROVIDER"
for lvl in verified trusted untrusted; do
  source_mail "$N_TLS_OUT" "ops@tls-$lvl.$D" "${USERS[0]}@$D" "over tls ($lvl)"
done
plan TLS_OUT "$N_TLS_OUT"

mwh_log "tls in: $N_TLS_IN inbound with STARTTLS (no client certificate)"
par "$N_TLS_IN" '
  sw -li "127.0.0.$((60 + $1 % 10))" --port 25 -tls --helo "mx$1.tls-sender.test" -f "tls$1@tls-sender.test" \
     -t "$(user_of "$1")@$D" --header "Subject: inbound over tls $1"'
plan TLS_IN "$N_TLS_IN"

# ------------------------------------------------------------------ lost connections
# SERVICE:PORT:TLS:STAGE, each N_DROP times from its own address in 127.0.6.0/24 (so no jail
# bans anyone). Postfix logs "lost connection after <STAGE> from ..." for each; the plan lists
# them for the e2e test. (A client that leaves without QUIT after a message was accepted is not
# one: Postfix 3.7 logs only its "disconnect from" line, so end_of_data is not in the list.)
DROPS=(
  smtp:25:none:connect smtp:25:none:helo smtp:25:none:ehlo smtp:25:none:starttls smtp:25:none:mail
  smtp:25:none:rcpt smtp:25:none:data smtp:25:none:rset
  submission:587:none:connect submission:587:none:ehlo submission:587:none:starttls submission:587:starttls:auth
  submissions:465:implicit:connect submissions:465:implicit:ehlo submissions:465:implicit:auth submissions:465:implicit:mail
)
mwh_log "lost connections: $N_DROP each of ${#DROPS[@]} (service, stage) pairs"
drop_jobs=()
i=0
for d in "${DROPS[@]}"; do
  IFS=: read -r _ port tls stage <<< "$d"
  for ((k = 0; k < N_DROP; k++)); do
    i=$((i + 1))
    drop_jobs+=("--src 127.0.6.$i --port $port --tls $tls --after $stage")
  done
done
printf '%s\n' "${drop_jobs[@]}" | xargs -P "$PAR" -I{} bash -c 'client drop $1' _ {}
plan DROP "$N_DROP"
plan DROPS "$(IFS=,; echo "${DROPS[*]}")"

# ------------------------------------------------------------------ postscreen
mwh_log "postscreen: $N_POSTSCREEN of each kind on port $MWH_POSTSCREEN_PORT"
ps_jobs=()
i=0
for how in pass pregreet hangup non-smtp bare-newline pipelining; do
  for ((k = 0; k < N_POSTSCREEN; k++)); do
    i=$((i + 1))
    ps_jobs+=("--src 127.0.5.$i --port $MWH_POSTSCREEN_PORT --how $how")
  done
done
# one allowlisted client (127.0.0.1 is in mynetworks: permit_mynetworks)
ps_jobs+=("--src 127.0.0.1 --port $MWH_POSTSCREEN_PORT --how pass")
printf '%s\n' "${ps_jobs[@]}" | xargs -P "$PAR" -I{} bash -c 'client postscreen $1' _ {}
plan POSTSCREEN "$N_POSTSCREEN"

# ------------------------------------------------------------------ saturation
# The rate-limited service: 3 connections in a row from one address, the third over the limit
# of 2 per minute (anvil).
mwh_log "saturation: a connection rate limit on port $MWH_RATELIMIT_PORT"
for _ in 1 2 3; do client hold --src 127.0.7.5 --port "$MWH_RATELIMIT_PORT" --seconds 0; done
plan SATURATION 1

# ------------------------------------------------------------------ queue operations
mwh_log "waiting for every message's first delivery attempt"
wait_queue_idle 120
mapfile -t expire_ids < <(queue_ids deferred "Connection refused" "$N_EXPIRE" | grep .)
if [ "${#expire_ids[@]}" -gt 0 ]; then
  mwh_log "expiring ${#expire_ids[@]} deferred messages (postsuper -e, then an immediate retry)"
  printf '%s\n' "${expire_ids[@]}" | postsuper -e - >/dev/null 2>&1
  for id in "${expire_ids[@]}"; do postqueue -i "$id"; done
  for _ in $(seq 300); do
    left=$(queue_ids any | grep -cFx -f <(printf '%s\n' "${expire_ids[@]}") || true)
    [ "$left" = 0 ] && break
    sleep 0.2
  done
  [ "$left" = 0 ] || mwh_die "$left expired messages are still queued after 60 s"
fi
wait_queue_idle 60
plan EXPIRE "${#expire_ids[@]}"
plan DEFERRED_EXPECTED $((N_DEFER + N_GREY + 4 * N_PROVIDER - ${#expire_ids[@]}))
plan HOLD_EXPECTED "$N_HOLD"
plan FINISHED "$(date +%s)"
mwh_log "traffic done: plan in $MWH_PLAN_FILE"
