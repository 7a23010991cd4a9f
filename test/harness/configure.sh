#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Configure the loopback mail stack: Postfix, Dovecot, OpenDKIM, fail2ban, rsyslog, journald,
# dnsmasq, Prometheus, Alertmanager; test users, TLS certificate, DKIM key. Idempotent; starts
# nothing (start.sh does). Run install.sh first.
#
#   sudo test/harness/configure.sh
#   sudo MWH_LOG_MODE=file MWH_CERT_DAYS=7 test/harness/configure.sh
#
# Nothing configured here needs the network: daemons listen on 127.0.0.1/::1 only, Postfix never
# looks up DNS (smtp_dns_support_level=disabled, no peer name lookups, bracketed IP next hops),
# fail2ban has usedns=no, and the only DNS server is the harness's own dnsmasq on loopback.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$HERE/env.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
mwh_require_stack_host

case $MWH_LOG_MODE in syslog | file) ;; *) mwh_die "MWH_LOG_MODE must be syslog or file, not '$MWH_LOG_MODE'" ;; esac
command -v postconf >/dev/null || mwh_die "Postfix is not installed: run test/harness/install.sh first"

install -d -m 0755 "$MWH_ETC" "$MWH_VAR" "$MWH_VAR/log" "$MWH_RUN"
D=$MWH_DOMAIN
H=$MWH_HOSTNAME

# ------------------------------------------------------------------ accounts
for u in $MWH_USERS; do
  id "$u" >/dev/null 2>&1 || useradd -m -s /usr/sbin/nologin "$u"
  echo "$u:$(mwh_password "$u")" | chpasswd
done
id "$MWH_MONITOR_USER" >/dev/null 2>&1 ||
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$MWH_MONITOR_USER"
usermod -a -G "$MWH_MONITOR_GROUPS" "$MWH_MONITOR_USER"
# The round-trip probe's mailbox (issue #19). Dovecot gives the files it delivers the permissions of
# their directory and, with the setgid bit, its group: the monitor user (group of the Maildir) can
# read and delete the probes. The password is for IMAP logins of the probe.
id "$MWH_PROBE_USER" >/dev/null 2>&1 ||
  useradd -m -d "$MWH_PROBE_HOME" -s /usr/sbin/nologin "$MWH_PROBE_USER"
echo "$MWH_PROBE_USER:$(mwh_password "$MWH_PROBE_USER")" | chpasswd
chmod 0711 "$MWH_PROBE_HOME"
install -d -m 2770 -o "$MWH_PROBE_USER" -g "$(id -gn "$MWH_MONITOR_USER")" "$MWH_PROBE_HOME/Maildir" \
  "$MWH_PROBE_HOME/Maildir/cur" "$MWH_PROBE_HOME/Maildir/new" "$MWH_PROBE_HOME/Maildir/tmp"
echo "$H" > /etc/mailname

# ------------------------------------------------------------------ TLS certificate
# Re-issued on every configure so its expiry is always "now + MWH_CERT_DAYS" (tests read the
# real notAfter from MWH_CERT). A leaf usable by any TLS client: SAN for the name and both
# loopback addresses.
install -d -m 0755 "$MWH_TLS_DIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mwh_self_signed -newkey rsa:2048 -nodes -keyout "$tmp/key" -out "$tmp/crt"
install -m 0644 "$tmp/crt" "$MWH_CERT"
install -m 0600 "$tmp/key" "$MWH_KEY"

# ------------------------------------------------------------------ DKIM key (kept across runs)
install -d -m 0750 -o opendkim -g opendkim "$MWH_DKIM_DIR"
if [ ! -s "$MWH_DKIM_KEY" ]; then
  opendkim-genkey -b 2048 -h sha256 -r -s "$MWH_DKIM_SELECTOR" -d "$D" -D "$MWH_DKIM_DIR"
fi
chown opendkim:opendkim "$MWH_DKIM_DIR"/*
chmod 0600 "$MWH_DKIM_KEY"
# The public half as one string ("v=DKIM1; h=sha256; k=rsa; s=email; p=...") for the DNS zone.
DKIM_TXT=$(grep -o '"[^"]*"' "$MWH_DKIM_DIR/$MWH_DKIM_SELECTOR.txt" | tr -d '"\n' | tr -s ' ')

# ------------------------------------------------------------------ Postfix
# Debian's init script normally copies resolv.conf etc. into the chroot; we start Postfix
# ourselves, so no service is chrooted.
postconf -F '*/*/chroot = n'
if [ -s /proc/net/if_inet6 ] && ip -6 addr show dev lo | grep -q '::1'; then
  protocols=all networks='127.0.0.1/32 [::1]/128' listen='127.0.0.1, ::1'
else
  protocols=ipv4 networks='127.0.0.1/32' listen='127.0.0.1'
fi
postconf -e \
  "compatibility_level = 3.6" \
  "myhostname = $H" \
  "mydomain = $D" \
  "myorigin = \$mydomain" \
  "mydestination = \$myhostname, \$mydomain, localhost.\$mydomain, localhost" \
  "inet_interfaces = loopback-only" \
  "inet_protocols = $protocols" \
  "mynetworks = $networks" \
  "relayhost = [127.0.0.1]:$MWH_DEAD_PORT" \
  "transport_maps = hash:/etc/postfix/mwh_transport" \
  "alias_maps = hash:/etc/postfix/mwh_aliases" \
  "alias_database = hash:/etc/postfix/mwh_aliases" \
  "mailbox_transport = lmtp:unix:private/dovecot-lmtp" \
  "smtp_dns_support_level = disabled" \
  "smtpd_peername_lookup = no" \
  "smtpd_banner = \$myhostname ESMTP \$mail_name" \
  "smtpd_helo_required = yes" \
  "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination" \
  "smtpd_recipient_restrictions = check_recipient_access hash:/etc/postfix/mwh_recipient_access, reject_unlisted_recipient" \
  "smtpd_tls_cert_file = $MWH_CERT" \
  "smtpd_tls_key_file = $MWH_KEY" \
  "smtpd_tls_security_level = may" \
  "smtpd_tls_auth_only = yes" \
  "smtpd_tls_loglevel = 1" \
  "smtpd_tls_protocols = >=TLSv1.2" \
  "smtpd_tls_mandatory_protocols = >=TLSv1.2" \
  "smtp_tls_security_level = may" \
  "smtp_tls_loglevel = 1" \
  "smtpd_sasl_type = dovecot" \
  "smtpd_sasl_path = private/auth" \
  "smtpd_sasl_auth_enable = no" \
  "smtpd_milters = inet:127.0.0.1:$MWH_DKIM_PORT, inet:127.0.0.1:$MWH_RSPAMD_MILTER_PORT" \
  "non_smtpd_milters = \$smtpd_milters" \
  "milter_default_action = accept" \
  "milter_protocol = 6" \
  "smtp_tls_CAfile = $MWH_CERT" \
  "smtp_tls_policy_maps = hash:/etc/postfix/mwh_tls_policy"
if [ "$MWH_LOG_MODE" = file ]; then
  postconf -e "maillog_file = $MWH_POSTFIX_LOG"
else
  postconf -X maillog_file 2>/dev/null || true
fi
# 587: STARTTLS required before AUTH; 465: implicit TLS. Both only relay for authenticated users;
# the ORIGINATING macro makes OpenDKIM sign their mail.
for svc in submission submissions; do
  postconf -M "$svc/inet=$svc inet n - n - - smtpd"
  postconf -P \
    "$svc/inet/syslog_name=postfix/$svc" \
    "$svc/inet/smtpd_sasl_auth_enable=yes" \
    "$svc/inet/smtpd_client_restrictions=permit_sasl_authenticated,reject" \
    "$svc/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject" \
    "$svc/inet/milter_macro_daemon_name=ORIGINATING"
done
postconf -P "submission/inet/smtpd_tls_security_level=encrypt"
postconf -P "submissions/inet/smtpd_tls_wrappermode=yes"

# ---- provider-mapped sinks (provider-sink.py). One per line: name|port offset|stage|address|reply,
# the reply's lines separated by "\n". The texts are the providers' own as Postfix logs show them
# (2024-2026): Gmail's 421-4.7.28 "unusual rate of unsolicited mail", 421-4.7.0 "very low
# reputation of the sending IP address" and 550-5.7.1 "likely unsolicited mail"; Microsoft's
# 550 5.7.1 S3150 block list and 451 4.7.650 "rate limited due to IP reputation"; Yahoo's
# 421 4.7.0 [TSS04] and 553 5.7.2 [TSS09]; Apple's 554 5.7.1 [CS01]. Only these addresses (and
# ok@gmail.com, @me.com: accepted by the relay sink) are routed to loopback; the traffic sends to
# no other address of those domains (it would go to the dead relayhost, never to DNS).
PROVIDER_SINKS=(
  'gmail-rate|0|DATA|rate@gmail.com|421 4.7.28 [{ip}      15] Our system has detected an unusual rate of\n421 4.7.28 unsolicited mail originating from your IP address. To protect our\n421 4.7.28 users from spam, mail sent from your IP address has been temporarily\n421 4.7.28 rate limited. Please visit\n421 4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError to\n421 4.7.28 review our Bulk Email Senders Guidelines. a1si123456qkb.42 - gsmtp'
  'gmail-lowrep|1|DATA|lowrep@gmail.com|421 4.7.0 [{ip}      15] Our system has detected that this message is\n421 4.7.0 suspicious due to the very low reputation of the sending IP address.\n421 4.7.0 To protect our users from spam, mail sent from your IP address has\n421 4.7.0 been temporarily rate limited. Please visit\n421 4.7.0  https://support.google.com/mail/answer/188131 for more information. b2si234567qkb.43 - gsmtp'
  'gmail-spam|2|DATA|spam@gmail.com|550 5.7.1 [{ip}      12] Our system has detected that this message is\n550 5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\n550 5.7.1 this message has been blocked. Please visit\n550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError\n550 5.7.1  for more information. c3si345678qkb.44 - gsmtp'
  "microsoft-block|3|MAIL|@outlook.com|550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. [AM4PEPF00027A5F.eurprd04.prod.outlook.com]"
  'microsoft-rate|4|MAIL|@hotmail.com|451 4.7.650 The mail server [{ip}] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775) [DB5PEPF00014B8E.eurprd02.prod.outlook.com]'
  'yahoo-defer|5|MAIL|@yahoo.com|421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes'
  'yahoo-perm|6|MAIL|@aol.com|553 5.7.2 [TSS09] All messages from {ip} will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes'
  'apple|7|DATA|@icloud.com|554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137'
)
provider_transport="# provider-mapped sinks (never resolved: bracketed loopback next hops)
ok@gmail.com  smtp:[127.0.0.1]:$MWH_SINK_OK_PORT
me.com        smtp:[127.0.0.1]:$MWH_SINK_OK_PORT"
printf '%s\n' "${PROVIDER_SINKS[@]}" | python3 -c '
import json, sys
base, out = int(sys.argv[1]), []
for line in sys.stdin.read().splitlines():
    name, off, at, _, reply = line.split("|", 4)
    out.append({"name": name, "port": base + int(off), "at": at, "reply": reply.split("\\n")})
with open(sys.argv[2], "w") as f:
    json.dump(out, f, indent=1)' "$MWH_PROVIDER_SINK_BASE" "$MWH_ETC/provider-sinks.json"
for e in "${PROVIDER_SINKS[@]}"; do
  IFS='|' read -r _ off _ addr _ <<< "$e"
  # transport_maps: a full address, or a domain (no @) for every address of it
  provider_transport+=$'\n'"${addr#@}  smtp:[127.0.0.1]:$((MWH_PROVIDER_SINK_BASE + off))"
done

# ---- loopback TLS "remote MTAs": three more smtpd services of this Postfix, with the harness
# certificate, that accept and discard the mail (DISCARD at DATA: no milters, no queue file).
# Outbound, smtp_tls_CAfile is the harness certificate, so the policy decides the trust level:
# secure with its name -> Verified, encrypt -> Trusted; the untrusted one is reached through the
# transport smtp-untrusted, an smtp client without any CA file -> Untrusted. They keep Postfix's
# default syslog name (postfix/smtpd), which pflogsumm reads.
for t in "verified $MWH_TLS_SINK_VERIFIED_PORT" "trusted $MWH_TLS_SINK_TRUSTED_PORT" "untrusted $MWH_TLS_SINK_UNTRUSTED_PORT"; do
  read -r name port <<< "$t"
  svc=127.0.0.1:$port
  postconf -M "$svc/inet=$svc inet n - n - - smtpd"
  postconf -P "$svc/inet/smtpd_milters=" \
    "$svc/inet/smtpd_tls_security_level=encrypt" \
    "$svc/inet/smtpd_data_restrictions=check_client_access,static:DISCARD"
done
postconf -M "smtp-untrusted/unix=smtp-untrusted unix - - n - - smtp"
postconf -P "smtp-untrusted/unix/smtp_tls_CAfile="
rm -f "$MWH_TLS_DIR/untrusted.crt" "$MWH_TLS_DIR/untrusted.key"

# ---- saturation: anvil tells smtpd when a client exceeds the connection rate limit (mynetworks
# are exempt, so the traffic uses another address). No milters: nothing is scanned. (master's
# "has reached its process limit" cannot be provoked here: master_avail.c never warns for a
# service that master_ent.c marks MASTER_FLAG_LOCAL_ONLY, listening on loopback only.)
limited=127.0.0.1:$MWH_RATELIMIT_PORT
postconf -M "$limited/inet=$limited inet n - n - - smtpd"
postconf -P "$limited/inet/syslog_name=postfix/limited" "$limited/inet/smtpd_milters=" \
  "$limited/inet/smtpd_client_connection_rate_limit=2"

# ---- postscreen on MWH_POSTSCREEN_PORT: pregreet enforced (1 s greet wait) and the deep protocol
# tests on (a new client that passes them is told to come back later, and is then PASS OLD). No
# DNSBL: postscreen's dnsblog would ask the system resolver, which is not on loopback.
ps=127.0.0.1:$MWH_POSTSCREEN_PORT
postconf -M "$ps/inet=$ps inet n - n - 1 postscreen" \
  "smtpd/pass=smtpd pass - - n - - smtpd" \
  "tlsproxy/unix=tlsproxy unix - - n - 0 tlsproxy"
postconf -e \
  "postscreen_greet_action = enforce" \
  "postscreen_greet_wait = 1s" \
  "postscreen_dnsbl_sites =" \
  "postscreen_pipelining_enable = yes" \
  "postscreen_non_smtp_command_enable = yes" \
  "postscreen_bare_newline_enable = yes" \
  "postscreen_bare_newline_action = enforce"

cat > /etc/postfix/mwh_transport <<EOF
# mailwatchd harness: loopback "remote MTAs" (smtp-sink). Every other non-local domain goes to
# relayhost [127.0.0.1]:$MWH_DEAD_PORT where nothing listens (deferred, Connection refused).
relay.$D     smtp:[127.0.0.1]:$MWH_SINK_OK_PORT
bounce.$D    smtp:[127.0.0.1]:$MWH_SINK_BOUNCE_PORT
greylist.$D  smtp:[127.0.0.1]:$MWH_SINK_GREY_PORT
# outbound TLS to the loopback TLS services of this Postfix (policy: mwh_tls_policy)
tls-verified.$D   smtp:[127.0.0.1]:$MWH_TLS_SINK_VERIFIED_PORT
tls-trusted.$D    smtp:[127.0.0.1]:$MWH_TLS_SINK_TRUSTED_PORT
tls-untrusted.$D  smtp-untrusted:[127.0.0.1]:$MWH_TLS_SINK_UNTRUSTED_PORT
$provider_transport
EOF
cat > /etc/postfix/mwh_tls_policy <<EOF
# mailwatchd harness: outbound TLS levels per next hop. smtp_tls_CAfile is the harness
# certificate, so: secure + its name -> "Verified", encrypt with a trusted chain -> "Trusted";
# the third is reached by the smtp-untrusted transport, which has no CA file -> "Untrusted".
[127.0.0.1]:$MWH_TLS_SINK_VERIFIED_PORT   secure match=$H
[127.0.0.1]:$MWH_TLS_SINK_TRUSTED_PORT    encrypt
[127.0.0.1]:$MWH_TLS_SINK_UNTRUSTED_PORT  encrypt
EOF
cat > /etc/postfix/mwh_recipient_access <<EOF
# mailwatchd harness: mail for this domain is accepted into the hold queue
hold.$D  HOLD held for review by the mailwatchd harness
EOF
first_user=${MWH_USERS%% *}
cat > /etc/postfix/mwh_aliases <<EOF
# mailwatchd harness: administrative mail (bounces, postmaster notices) ends in a real mailbox
postmaster: $first_user
root: $first_user
abuse: $first_user
MAILER-DAEMON: $first_user
EOF
postmap /etc/postfix/mwh_transport /etc/postfix/mwh_recipient_access /etc/postfix/mwh_tls_policy
postalias /etc/postfix/mwh_aliases
date -u +%FT%TZ > "/etc/postfix/$MWH_MARKER_NAME"

# ------------------------------------------------------------------ Dovecot (Debian's config + local.conf)
if [ "$MWH_LOG_MODE" = file ]; then dovecot_log=$MWH_DOVECOT_LOG; else dovecot_log=syslog; fi
cat > /etc/dovecot/local.conf <<EOF
# Written by the mailwatchd test harness (test/harness/configure.sh); loaded last by dovecot.conf.
# sieve: ManageSieve (dovecot-managesieved) on 4190, STARTTLS with the same certificate.
protocols = imap lmtp sieve
listen = $listen
mail_location = maildir:~/Maildir
ssl = yes
ssl_cert = <$MWH_CERT
ssl_key = <$MWH_KEY
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_username_format = %Ln
auth_verbose = yes
log_path = $dovecot_log
syslog_facility = mail
service auth {
  unix_listener $MWH_SASL_SOCKET {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service lmtp {
  unix_listener $MWH_LMTP_SOCKET {
    mode = 0600
    user = postfix
    group = postfix
  }
}
protocol lmtp {
  postmaster_address = postmaster@$D
}
service managesieve-login {
  inet_listener sieve {
    port = $MWH_SIEVE_PORT
  }
}
EOF
# The virtual SASL users of the compromised-account scenario (saslburst.sh). The PAM users cannot
# authenticate with a domain in their name (auth_username_format = %Ln drops it), so these two come
# from a passwd-file whose user= field names them user@$D: Dovecot returns that name to Postfix
# (xsasl_dovecot_server.c takes the user= of Dovecot's OK reply), which logs it as sasl_username=,
# and mailwatchd can compare its domain with the envelope sender's. The passdb is in conf.d, read
# before 10-auth.conf's PAM passdb, so PAM is never asked about these names (no "user unknown"
# failure lines, no PAM delay); username_filter keeps every other name away from it. Submission
# needs no userdb (Postfix's requests carry "nologin").
install -d -m 0755 "$MWH_ETC/dovecot"
for u in $MWH_SASLBURST_USER $MWH_SASLBURST_QUIET_USER; do
  printf '%s:{PLAIN}%s::::::user=%s@%s\n' "$u" "$(mwh_password "$u")" "$u" "$D"
done > "$MWH_ETC/dovecot/sasl-users.passwd"
chown root:dovecot "$MWH_ETC/dovecot/sasl-users.passwd"
chmod 0640 "$MWH_ETC/dovecot/sasl-users.passwd"
cat > /etc/dovecot/conf.d/05-mailwatchd-harness.conf <<EOF
# Written by the mailwatchd test harness (test/harness/configure.sh): the virtual SASL users of the
# compromised-account scenario, asked before PAM and only for their own names.
passdb {
  driver = passwd-file
  args = $MWH_ETC/dovecot/sasl-users.passwd
  username_filter = $MWH_SASLBURST_USER $MWH_SASLBURST_QUIET_USER
}
EOF
date -u +%FT%TZ > "/etc/dovecot/$MWH_MARKER_NAME"

# ------------------------------------------------------------------ OpenDKIM (own config file)
install -d -m 0755 "$MWH_ETC/opendkim"
cat > "$MWH_ETC/opendkim/key.table" <<EOF
$MWH_DKIM_SELECTOR._domainkey.$D  $D:$MWH_DKIM_SELECTOR:$MWH_DKIM_KEY
EOF
cat > "$MWH_ETC/opendkim/signing.table" <<EOF
*@$D  $MWH_DKIM_SELECTOR._domainkey.$D
# no such key in key.table: "signing table references unknown key"
*@$MWH_DKIM_BROKEN_DOMAIN  broken._domainkey.$MWH_DKIM_BROKEN_DOMAIN
EOF
printf '127.0.0.1\n::1\n' > "$MWH_ETC/opendkim/internal.hosts"
cat > "$MWH_ETC/opendkim/opendkim.conf" <<EOF
# Written by the mailwatchd test harness. OpenDKIM can only log through syslog(3).
Syslog          yes
SyslogSuccess   yes
LogWhy          yes
Mode            s
MTA             ORIGINATING
Canonicalization relaxed/simple
OversignHeaders From
Socket          inet:$MWH_DKIM_PORT@127.0.0.1
UserID          opendkim:opendkim
UMask           007
KeyTable        file:$MWH_ETC/opendkim/key.table
SigningTable    refile:$MWH_ETC/opendkim/signing.table
InternalHosts   $MWH_ETC/opendkim/internal.hosts
# Signing needs no DNS. Should anything still look up a key, it goes to 127.0.0.1, never to the
# system resolver (which is not on loopback here).
Nameservers     127.0.0.1
EOF

# ------------------------------------------------------------------ Rspamd (harness-owned LOCAL_CONFDIR)
# Started with --var LOCAL_CONFDIR=$MWH_RSPAMD_CONF (start.sh): /etc/rspamd stays as packaged and
# only these local.d/override.d files apply. No network beyond loopback:
# - DNS goes to the harness dnsmasq only (it answers the test names and refuses the rest);
# - every module that fetches remote maps, reports anywhere, or needs Redis is switched off (an
#   override.d file replaces the module's whole section, so its URLs go too); `rspamadm
#   configdump` of this configuration names no http(s) URL (check.sh verifies it);
# - the modules that score by DNS (SPF, DKIM, DMARC, ARC, RBLs, hfilter...) are off as well: against
#   a DNS server that refuses they would only add "DNS failure" scores, and the verdicts of the
#   traffic must not depend on them.
# The verdicts the traffic provokes come from Rspamd's GTUBE handling (docs: gtube_patterns):
# "XJS*C4JDBQADN1...GTUBE..." rejects; with enable_test_patterns (Rspamd < 3.8) "YJS..." adds the
# header, "ZJS..." rewrites the subject. Ordinary harness mail scores far below every action.
install -d -m 0755 "$MWH_RSPAMD_CONF" "$MWH_RSPAMD_CONF/local.d" "$MWH_RSPAMD_CONF/override.d"
install -d -m 0750 -o _rspamd -g _rspamd "$(dirname "$MWH_RSPAMD_LOG")"
cat > "$MWH_RSPAMD_CONF/local.d/options.inc" <<EOF
# Written by the mailwatchd test harness.
dns {
  nameserver = ["$MWH_DNS_SERVER"];
}
enable_test_patterns = true;
local_addrs = [127.0.0.0/8, ::1];
# Compiled Hyperscan databases (the URL TLD matcher alone takes most of a minute on 2 cores):
# kept across starts, unlike the rest of the state.
hs_cache_dir = "$MWH_VAR/rspamd-hs";
EOF
install -d -m 0750 -o _rspamd -g _rspamd "$MWH_VAR/rspamd-hs"
cat > "$MWH_RSPAMD_CONF/local.d/logging.inc" <<EOF
# Written by the mailwatchd test harness: Rspamd's default file format, at info level.
type = "file";
filename = "$MWH_RSPAMD_LOG";
level = "info";
EOF
# The round-trip probe checks the delivered copy for Rspamd's X-Spamd-Result: milter_headers adds
# it with extended_spam_headers, and to local and authenticated mail (all harness mail comes from
# 127.0.0.0/8) only without skip_local and skip_authenticated (Rspamd's milter_headers docs).
cat > "$MWH_RSPAMD_CONF/local.d/milter_headers.conf" <<EOF
# Written by the mailwatchd test harness.
extended_spam_headers = true;
skip_local = false;
skip_authenticated = false;
EOF
cat > "$MWH_RSPAMD_CONF/override.d/worker-proxy.inc" <<EOF
# Written by the mailwatchd test harness: the milter Postfix talks to, scanning in the normal worker.
bind_socket = "127.0.0.1:$MWH_RSPAMD_MILTER_PORT";
milter = yes;
timeout = 120s;
upstream "local" {
  default = yes;
  hosts = "127.0.0.1:$MWH_RSPAMD_NORMAL_PORT";
}
count = 1;
max_retries = 5;
discard_on_reject = false;
quarantine_on_reject = false;
spam_header = "X-Spam";
reject_message = "Spam message rejected";
EOF
cat > "$MWH_RSPAMD_CONF/override.d/worker-normal.inc" <<EOF
# Written by the mailwatchd test harness.
bind_socket = "127.0.0.1:$MWH_RSPAMD_NORMAL_PORT";
count = 1;
task_timeout = 8s;
EOF
cat > "$MWH_RSPAMD_CONF/override.d/worker-controller.inc" <<EOF
# Written by the mailwatchd test harness: loopback only; loopback clients need no password.
bind_socket = "127.0.0.1:$MWH_RSPAMD_CONTROLLER_PORT";
count = 1;
secure_ip = "127.0.0.1";
secure_ip = "::1";
static_dir = "\${WWWDIR}";
EOF
for m in fuzzy_check rbl surbl phishing rspamd_update whitelist multimap mid mime_types asn emails \
  mx_check spf dkim dmarc arc hfilter dkim_signing bimi aws_s3 dcc external_services antivirus \
  neural ratelimit greylist reputation replies history_redis url_redirector metric_exporter \
  metadata_exporter clickhouse elastic p0f spamtrap once_received; do
  printf '# Written by the mailwatchd test harness: off (network, remote maps or Redis).\nenabled = false;\n' \
    > "$MWH_RSPAMD_CONF/override.d/$m.conf"
done
# Bayes needs Redis, which the harness does not run.
printf '# Written by the mailwatchd test harness: no Redis, no Bayes.\n' > "$MWH_RSPAMD_CONF/override.d/classifier-bayes.conf"
date -u +%FT%TZ > "$MWH_RSPAMD_CONF/$MWH_MARKER_NAME"

# ------------------------------------------------------------------ rsyslog + journald
# Programs log to /dev/log -> systemd-journald; rsyslogd writes the mail facility to the classic
# files. rsyslogd reads the journal itself (imjournal) instead of journald's forwarding socket:
# journald drops forwarded messages when that socket is full ("Forwarding to syslog missed N
# messages"), which a busy test run triggers, and the files must hold every line.
install -d -m 0755 "$MWH_VAR/rsyslog"
cat > "$MWH_ETC/rsyslog.conf" <<EOF
# Written by the mailwatchd test harness (started with rsyslogd -n -f this-file).
global(workDirectory="$MWH_VAR/rsyslog")
module(load="imjournal" StateFile="imjournal.state" IgnorePreviousMessages="on" Ratelimit.Interval="0")
mail.* action(type="omfile" file="$MWH_MAILLOG" template="RSYSLOG_FileFormat"
              fileOwner="root" fileGroup="adm" fileCreateMode="0640")
mail.* action(type="omfile" file="$MWH_MAILLOG_TRAD" template="RSYSLOG_TraditionalFileFormat"
              fileOwner="root" fileGroup="adm" fileCreateMode="0640")
EOF
if [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ]; then
  # Only for the harness's own standalone journald: no rate limit (without systemd units every
  # process shares one bucket), and no forwarding (rsyslogd reads the journal).
  install -d -m 0755 /etc/systemd/journald.conf.d
  cat > /etc/systemd/journald.conf.d/mailwatchd-harness.conf <<EOF
# Written by the mailwatchd test harness for its standalone systemd-journald.
[Journal]
RateLimitIntervalSec=0
ForwardToSyslog=no
EOF
fi
# Log files exist before fail2ban and the tests look at them.
for f in "$MWH_MAILLOG" "$MWH_MAILLOG_TRAD" "$MWH_FAIL2BAN_LOG" "$MWH_POSTFIX_LOG" "$MWH_DOVECOT_LOG"; do
  [ -e "$f" ] || install -m 0640 -o root -g adm /dev/null "$f"
done

# ------------------------------------------------------------------ fail2ban (own config dir)
# fail2ban-client -c DIR reads only DIR: the packaged filters and actions are linked in, our
# jails replace whatever /etc/fail2ban/jail.d enables on this machine.
F2B=$MWH_ETC/fail2ban
install -d -m 0755 "$F2B" "$F2B/jail.d" "$F2B/fail2ban.d"
for f in action.d filter.d fail2ban.conf jail.conf /etc/fail2ban/paths-*.conf; do
  f=$(basename "$f")
  ln -sfn "/etc/fail2ban/$f" "$F2B/$f"
done
if [ "$MWH_LOG_MODE" = file ]; then pf_log=$MWH_POSTFIX_LOG dv_log=$MWH_DOVECOT_LOG; else pf_log=$MWH_MAILLOG dv_log=$MWH_MAILLOG; fi
cat > "$F2B/fail2ban.local" <<EOF
# Written by the mailwatchd test harness.
[Definition]
loglevel = INFO
logtarget = $MWH_FAIL2BAN_LOG
socket = $MWH_FAIL2BAN_SOCKET
pidfile = $MWH_FAIL2BAN_PIDFILE
# a real database for mailwatchd's fail2ban collector; start.sh deletes it before each start, so
# bans still do not survive a restart: every run starts unbanned
dbfile = $MWH_FAIL2BAN_DB
allowipv6 = auto
EOF
cat > "$F2B/jail.local" <<EOF
# Written by the mailwatchd test harness. 127.0.0.1 and ::1 are trusted; the other 127.0.0.0/8
# addresses play clients on the internet, so brute-forcers really get banned (iptables on lo).
# "tail": start reading at the end of each log, so lines of an earlier run never cause a ban.
[DEFAULT]
ignoreip = 127.0.0.1/32 ::1
usedns = no
backend = polling
banaction = iptables-multiport
banaction_allports = iptables-allports
# longer than any e2e run, so the traffic's ban is still in place when the tests look at it
bantime = 1h
findtime = 10m
maxretry = 5

[postfix]
enabled = true
mode = more
logpath = $pf_log tail

[postfix-sasl]
enabled = true
logpath = $pf_log tail

# IMAP ports only: the stock jail also covers 465/587, so Dovecot's own SASL failure lines would
# ban a Postfix brute-forcer before postfix-sasl does, in the middle of its SMTP sessions.
[dovecot]
enabled = true
port = imap,imaps
logpath = $dv_log tail
EOF

# ------------------------------------------------------------------ dnsmasq: loopback test DNS
# address= (not host-record=) for the DNSBL answers: no PTR records for the listed addresses.
# 127.0.0.2 -> 2.0.0.127, the DNSBL query form of an IPv4 address
# shellcheck disable=SC2086 # split on the dots
revip() { local IFS=.; set -- $1; echo "$4.$3.$2.$1"; }
# TXT strings are at most 255 bytes: split the DKIM record into 250-byte quoted parts.
dkim_parts=$(printf '%s' "$DKIM_TXT" | fold -w 250 | sed 's/.*/"&"/' | paste -sd, -)
# DANE: a TLSA 3 1 1 record (DANE-EE, SubjectPublicKeyInfo, SHA-256) of the certificate Postfix
# serves on port 25, as type 52 raw data (usage, selector, matching type, then the digest).
tlsa_311=$(openssl x509 -in "$MWH_CERT" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
cat > "$MWH_ETC/dnsmasq.conf" <<EOF
# Written by the mailwatchd test harness. Answers only the test names below; forwards only
# $MWH_DNS_HANG_ZONE, to the harness's own blackhole on loopback, so nothing leaves the machine.
port=$MWH_DNS_PORT
listen-address=$MWH_DNS_ADDR
bind-interfaces
no-resolv
no-poll
no-hosts
user=$(mwh_dns_user)
log-queries
log-facility=-
local=/test/
local=/127.in-addr.arpa/
host-record=$H,127.0.0.1,::1
dns-rr=_25._tcp.$H,52,030101$tlsa_311
mx-host=$D,$H,10
txt-record=$D,"v=spf1 ip4:127.0.0.1 ip6:::1 -all"
txt-record=_dmarc.$D,"v=DMARC1; p=reject; rua=mailto:postmaster@$D"
txt-record=$MWH_DKIM_SELECTOR._domainkey.$D,$dkim_parts
# MTA-STS (RFC 8461) and TLS-RPT (RFC 8460): the policy host on its own loopback address.
host-record=$MWH_MTASTS_HOST,$MWH_MTASTS_ADDR
txt-record=_mta-sts.$D,"v=STSv1; id=$MWH_MTASTS_ID;"
txt-record=_smtp._tls.$D,"v=TLSRPTv1; rua=mailto:tlsrpt@$D"
address=/$(revip "$MWH_DNSBL_LISTED_IP").$MWH_DNSBL_ZONE/127.0.0.2
txt-record=$(revip "$MWH_DNSBL_LISTED_IP").$MWH_DNSBL_ZONE,"listed by the mailwatchd harness test DNSBL"
address=/$(revip "$MWH_DNSBL_ERROR_IP").$MWH_DNSBL_ZONE/127.255.255.254
# The one forwarded zone, to the never-answering server of the harness on loopback.
server=/$MWH_DNS_HANG_ZONE/$MWH_DNS_ADDR#$MWH_DNS_HANG_PORT
EOF
printf '%s\n' "$DKIM_TXT" > "$MWH_DKIM_DIR/$MWH_DKIM_SELECTOR.dns.txt"

# ------------------------------------------------------------------ MTA-STS policy (mta-sts-server.py)
# RFC 8461 section 3.2: "key: value" lines ending in CRLF. It covers the one MX, mail.example.test,
# which serves MWH_CERT on port 25. Rewritten on every configure (tests change it and restore it).
install -d -m 0755 "$(dirname "$MWH_MTASTS_POLICY")"
printf 'version: STSv1\r\nmode: enforce\r\nmx: %s\r\nmax_age: %s\r\n' "$H" "$MWH_MTASTS_MAX_AGE" > "$MWH_MTASTS_POLICY"
chmod 0644 "$MWH_MTASTS_POLICY"

# ------------------------------------------------------------------ Prometheus + Alertmanager
P=$MWH_ETC/prometheus
install -d -m 0755 "$P" "$MWH_PROM_SD_DIR" "$MWH_PROM_RULES_DIR"
cat > "$P/alertmanager.yml" <<EOF
# Written by the mailwatchd test harness: every alert goes to the loopback webhook receiver at once.
route:
  receiver: webhook
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: $MWH_HOOK_URL/alert
        send_resolved: true
EOF
cat > "$P/harness-rules.yml" <<'EOF'
# Written by the mailwatchd test harness. HarnessWatchdog always fires: its arrival at the
# webhook proves scrape -> rule evaluation -> Alertmanager -> receiver works.
groups:
  - name: harness
    interval: 1s
    rules:
      - alert: HarnessWatchdog
        expr: vector(1)
        labels:
          severity: none
        annotations:
          summary: always firing; proves the alerting pipeline of the test harness
EOF
rule_files="  - $P/harness-rules.yml
  - $MWH_PROM_RULES_DIR/*.yml"
IFS=, read -ra extra_rules <<< "$MWH_PROM_EXTRA_RULES"
for r in "${extra_rules[@]}"; do
  [ -n "$r" ] || continue
  [ -r "$r" ] || mwh_die "MWH_PROM_EXTRA_RULES: cannot read $r"
  rule_files+=$'\n'"  - $r"
done
extra_static=""
IFS=, read -ra extra_targets <<< "$MWH_PROM_EXTRA_TARGETS"
for t in "${extra_targets[@]}"; do [ -n "$t" ] && extra_static+="'$t', "; done
cat > "$P/prometheus.yml" <<EOF
# Written by the mailwatchd test harness.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
$rule_files
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$MWH_AM_PORT']
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$MWH_PROM_PORT']
  - job_name: alertmanager
    static_configs:
      - targets: ['127.0.0.1:$MWH_AM_PORT']
  - job_name: webhook
    static_configs:
      - targets: ['127.0.0.1:$MWH_HOOK_PORT']
  # e2e tests register their mailwatchd here (file_sd, picked up via inotify)
  - job_name: mailwatchd
    file_sd_configs:
      - files: ['$MWH_PROM_SD_DIR/mailwatchd*.json']
        refresh_interval: 5s
  - job_name: extra
    static_configs:
      - targets: [${extra_static%, }]
    file_sd_configs:
      - files: ['$MWH_PROM_SD_DIR/extra*.json']
        refresh_interval: 5s
EOF

# ------------------------------------------------------------------ validate everything
postfix check
doveconf -n >/dev/null
opendkim -n -x "$MWH_ETC/opendkim/opendkim.conf"
rspamadm --var="LOCAL_CONFDIR=$MWH_RSPAMD_CONF" configtest -c /etc/rspamd/rspamd.conf >/dev/null ||
  rspamadm --var="LOCAL_CONFDIR=$MWH_RSPAMD_CONF" configtest -c /etc/rspamd/rspamd.conf
fail2ban-client -c "$F2B" -t >/dev/null
rsyslogd -N1 -f "$MWH_ETC/rsyslog.conf" >/dev/null 2>&1 || rsyslogd -N1 -f "$MWH_ETC/rsyslog.conf"
dnsmasq --test -C "$MWH_ETC/dnsmasq.conf" 2>/dev/null || dnsmasq --test -C "$MWH_ETC/dnsmasq.conf"
"$MWH_PROMTOOL" check config "$P/prometheus.yml" >/dev/null
amtool check-config "$P/alertmanager.yml" >/dev/null
mwh_log "configured (log mode $MWH_LOG_MODE); certificate notAfter $(openssl x509 -in "$MWH_CERT" -noout -enddate | cut -d= -f2)"
