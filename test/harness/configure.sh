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
  "smtpd_milters = inet:127.0.0.1:$MWH_DKIM_PORT" \
  "non_smtpd_milters = \$smtpd_milters" \
  "milter_default_action = accept"
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

cat > /etc/postfix/mwh_transport <<EOF
# mailwatchd harness: loopback "remote MTAs" (smtp-sink). Every other non-local domain goes to
# relayhost [127.0.0.1]:$MWH_DEAD_PORT where nothing listens (deferred, Connection refused).
relay.$D     smtp:[127.0.0.1]:$MWH_SINK_OK_PORT
bounce.$D    smtp:[127.0.0.1]:$MWH_SINK_BOUNCE_PORT
greylist.$D  smtp:[127.0.0.1]:$MWH_SINK_GREY_PORT
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
postmap /etc/postfix/mwh_transport /etc/postfix/mwh_recipient_access
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
mx-host=$D,$H,10
txt-record=$D,"v=spf1 ip4:127.0.0.1 ip6:::1 -all"
txt-record=_dmarc.$D,"v=DMARC1; p=reject; rua=mailto:postmaster@$D"
txt-record=$MWH_DKIM_SELECTOR._domainkey.$D,$dkim_parts
address=/$(revip "$MWH_DNSBL_LISTED_IP").$MWH_DNSBL_ZONE/127.0.0.2
txt-record=$(revip "$MWH_DNSBL_LISTED_IP").$MWH_DNSBL_ZONE,"listed by the mailwatchd harness test DNSBL"
address=/$(revip "$MWH_DNSBL_ERROR_IP").$MWH_DNSBL_ZONE/127.255.255.254
# The one forwarded zone, to the never-answering server of the harness on loopback.
server=/$MWH_DNS_HANG_ZONE/$MWH_DNS_ADDR#$MWH_DNS_HANG_PORT
EOF
printf '%s\n' "$DKIM_TXT" > "$MWH_DKIM_DIR/$MWH_DKIM_SELECTOR.dns.txt"

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
fail2ban-client -c "$F2B" -t >/dev/null
rsyslogd -N1 -f "$MWH_ETC/rsyslog.conf" >/dev/null 2>&1 || rsyslogd -N1 -f "$MWH_ETC/rsyslog.conf"
dnsmasq --test -C "$MWH_ETC/dnsmasq.conf" 2>/dev/null || dnsmasq --test -C "$MWH_ETC/dnsmasq.conf"
"$MWH_PROMTOOL" check config "$P/prometheus.yml" >/dev/null
amtool check-config "$P/alertmanager.yml" >/dev/null
mwh_log "configured (log mode $MWH_LOG_MODE); certificate notAfter $(openssl x509 -in "$MWH_CERT" -noout -enddate | cut -d= -f2)"
