#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Compromised-account scenario of the e2e tests (test/e2e/saslburst_test.go): one SASL user
# submits a burst from many client addresses, as a stolen mailbox password is used, and a second
# user sends a little, so that the ranking has a second place.
#
#   test/harness/saslburst.sh burst FIRST LAST PER_ADDR MISMATCH [GTUBE]  # MWH_SASLBURST_USER
#   test/harness/saslburst.sh quiet FIRST LAST PER_ADDR MISMATCH [GTUBE]  # MWH_SASLBURST_QUIET_USER
#
# sends PER_ADDR messages from each of MWH_SASLBURST_NET.FIRST .. .LAST (the addresses taken in
# turn), each in a session of its own, alternating 587 (STARTTLS) and 465 (implicit TLS), the
# first MISMATCH with an envelope sender outside the user's domain (mailclient.py submit has the
# shapes: messages with three recipients, a recipient refused at RCPT), and the last GTUBE (0 by
# default) with Rspamd's GTUBE string, which its milter rejects at the end of DATA. Mail goes to
# the accepting smtp-sink (relay.$MWH_DOMAIN). Prints mailclient.py's JSON summary (accepted,
# rejected, mismatched, refused recipients, addresses); exits non-zero unless the GTUBE messages
# were rejected and every other one accepted.
#
# Nothing here can get an address banned: every login succeeds (fail2ban's postfix-sasl and
# dovecot jails count failures), and at most one recipient per address and run is refused (the
# postfix jail bans at 5 within 10 minutes); as root, the script lifts any ban of the addresses it
# is about to use first. Postfix applies no rate limit to the submission services (anvil's
# smtpd_client_*_rate_limit are 0 but on the harness's "limited" service).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$HERE/env.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage="usage: saslburst.sh burst|quiet FIRST LAST PER_ADDR MISMATCH [GTUBE]"
[ $# -eq 5 ] || [ $# -eq 6 ] || mwh_die "$usage"
case $1 in
  burst) user=$MWH_SASLBURST_USER ;;
  quiet) user=$MWH_SASLBURST_QUIET_USER ;;
  *) mwh_die "$usage" ;;
esac
first=$2 last=$3 per=$4 mismatch=$5 gtube=${6:-0}
for n in "$first" "$last" "$per" "$mismatch" "$gtube"; do [[ $n =~ ^[0-9]+$ ]] || mwh_die "$usage"; done
[ "$first" -ge 1 ] && [ "$last" -le 250 ] && [ "$first" -le "$last" ] || mwh_die "FIRST..LAST must be within 1..250"
# bounded: at most 250 addresses x 20 messages
[ "$per" -ge 1 ] && [ "$per" -le 20 ] || mwh_die "PER_ADDR must be 1..20"

srcs=()
for ((i = first; i <= last; i++)); do srcs+=(--src "$MWH_SASLBURST_NET$i"); done
if [ "$(id -u)" = 0 ] && [ -S "$MWH_FAIL2BAN_SOCKET" ]; then
  for ((i = first; i <= last; i++)); do
    fail2ban-client -c "$MWH_ETC/fail2ban" unban "$MWH_SASLBURST_NET$i" >/dev/null 2>&1 || true
  done
fi
# a whole run is bounded in time too: 30 s per session at most in mailclient.py, 4 at a time
exec timeout 300 python3 "$HERE/mailclient.py" submit "${srcs[@]}" --user "$user" \
  --password "$(mwh_password "$user")" --domain "$MWH_DOMAIN" \
  --messages $(((last - first + 1) * per)) --mismatch "$mismatch" --gtube "$gtube" --tag "$1-$first-$last"
