# shellcheck shell=bash
# shellcheck disable=SC2034 # every variable here is used by other scripts or the Go tests
# Settings of the mailwatchd real-stack harness: every port, path and name the stack uses.
#
# Sourced by every harness script and by test/run-e2e.sh, which exports all MWH_* variables to
# the Go e2e tests (test/e2e reads them from the environment). Every value can be overridden from
# the environment. To run the Go tests by hand against a running stack:
#
#   eval "$(test/harness/harness.sh env)"; go test -tags e2e -count=1 ./test/e2e/...
#
# Only variables live here (no side effects), so sourcing it is always safe.

# ------------------------------------------------------------------ identity of the test mail host
MWH_HOSTNAME=${MWH_HOSTNAME:-mail.example.test}     # Postfix myhostname, TLS certificate CN/SAN
MWH_DOMAIN=${MWH_DOMAIN:-example.test}              # mydomain: local users are user@example.test
MWH_USERS=${MWH_USERS:-"alice bob carol"}           # system accounts with Maildirs; password: see lib.sh mwh_password
# Virtual SASL users of the compromised-account scenario (saslburst.sh): no system accounts, a
# Dovecot passwd-file passdb that names them user@MWH_DOMAIN (as Postfix then logs sasl_username=);
# password: see lib.sh mwh_password. Nothing else logs in as them.
MWH_SASLBURST_USER=${MWH_SASLBURST_USER:-mwburst}            # the "compromised" account: the burst
MWH_SASLBURST_QUIET_USER=${MWH_SASLBURST_QUIET_USER:-mwquiet} # a second, quieter sender (rank 2)
MWH_SASLBURST_NET=${MWH_SASLBURST_NET:-127.0.8.}             # its client addresses: 127.0.8.1-.250, no other traffic
MWH_MONITOR_USER=${MWH_MONITOR_USER:-mailmon}       # unprivileged account for running mailwatchd as non-root
MWH_MONITOR_GROUPS=${MWH_MONITOR_GROUPS:-adm,postdrop,systemd-journal}  # log files, showq socket, journal
# The round-trip probe's mailbox (collectors.roundtrip): an account that receives only probes. Its
# home is outside /home (the mailbox collector's /home/*/Maildir would count probes in flight); its
# Maildir is group-owned by the monitor user's primary group, setgid and group-writable.
MWH_PROBE_USER=${MWH_PROBE_USER:-mwprobe}
MWH_PROBE_HOME=${MWH_PROBE_HOME:-/var/lib/mailwatchd-harness-probe}

# ------------------------------------------------------------------ harness-owned directories
MWH_ETC=${MWH_ETC:-/etc/mailwatchd-harness}         # generated configs, TLS cert, DKIM key, DNS zone
MWH_RUN=${MWH_RUN:-/run/mailwatchd-harness}         # pid files of every process the harness started
MWH_VAR=${MWH_VAR:-/var/lib/mailwatchd-harness}     # Prometheus/Alertmanager data, daemon output, traffic plan
MWH_MARKER_NAME=.mailwatchd-harness                 # marker file: "this config was written by the harness"

# ------------------------------------------------------------------ logging
# syslog: Postfix, Dovecot and OpenDKIM log through /dev/log to the standalone systemd-journald;
#         rsyslogd reads the journal and writes MWH_MAILLOG with RFC 3339 timestamps (Debian 12's
#         default format) and MWH_MAILLOG_TRAD in the traditional "Mmm dd hh:mm:ss" format.
# file:   Postfix writes MWH_POSTFIX_LOG itself (maillog_file, via postlogd) and Dovecot writes
#         MWH_DOVECOT_LOG (log_path); OpenDKIM can only use syslog(3), so its lines stay in
#         MWH_MAILLOG and the journal.
MWH_LOG_MODE=${MWH_LOG_MODE:-syslog}
MWH_MAILLOG=${MWH_MAILLOG:-/var/log/mail.log}
MWH_MAILLOG_TRAD=${MWH_MAILLOG_TRAD:-/var/log/mail-traditional.log}
MWH_POSTFIX_LOG=${MWH_POSTFIX_LOG:-/var/log/postfix.log}   # must be under /var (Postfix maillog_file_prefixes)
MWH_DOVECOT_LOG=${MWH_DOVECOT_LOG:-/var/log/dovecot.log}
MWH_FAIL2BAN_LOG=${MWH_FAIL2BAN_LOG:-/var/log/fail2ban.log}
MWH_JOURNAL_SOCKET=${MWH_JOURNAL_SOCKET:-/run/systemd/journal/socket}  # journald native socket
MWH_JOURNAL_DEVLOG=${MWH_JOURNAL_DEVLOG:-/run/systemd/journal/dev-log} # /dev/log points here

# ------------------------------------------------------------------ Postfix and Dovecot
# Mail ports are the standard ones (clients and mailwatchd's cert targets expect them), all bound to
# 127.0.0.1 and ::1 only: SMTP 25 (STARTTLS), submissions 465 (implicit TLS), submission 587
# (STARTTLS required, SASL via Dovecot), IMAP 143 (STARTTLS), IMAPS 993, ManageSieve 4190
# (STARTTLS). LMTP and SASL are unix sockets below the Postfix spool.
MWH_SMTP_PORT=25
MWH_SUBMISSIONS_PORT=465
MWH_SUBMISSION_PORT=587
MWH_IMAP_PORT=143
MWH_IMAPS_PORT=993
MWH_SIEVE_PORT=4190
MWH_POSTFIX_SPOOL=${MWH_POSTFIX_SPOOL:-/var/spool/postfix}
MWH_SHOWQ_SOCKET=$MWH_POSTFIX_SPOOL/public/showq             # group postdrop may connect
MWH_LMTP_SOCKET=$MWH_POSTFIX_SPOOL/private/dovecot-lmtp
MWH_SASL_SOCKET=$MWH_POSTFIX_SPOOL/private/auth
MWH_POSTFIX_PIDFILE=$MWH_POSTFIX_SPOOL/pid/master.pid      # written by Postfix itself
MWH_DOVECOT_PIDFILE=${MWH_DOVECOT_PIDFILE:-/run/dovecot/master.pid}
MWH_FAIL2BAN_SOCKET=${MWH_FAIL2BAN_SOCKET:-/run/fail2ban/fail2ban.sock}
MWH_FAIL2BAN_PIDFILE=${MWH_FAIL2BAN_PIDFILE:-/run/fail2ban/fail2ban.pid}
# fail2ban's dbfile: a real SQLite file at Debian's path (mailwatchd's fail2ban collector reads it,
# and deploy/systemd/mailwatchd.tmpfiles grants access to exactly this path). start.sh deletes it
# before starting fail2ban, so every run still starts with no bans.
MWH_FAIL2BAN_DB=${MWH_FAIL2BAN_DB:-/var/lib/fail2ban/fail2ban.sqlite3}

# Loopback "remote MTAs" (smtp-sink) used as next hops through Postfix transport_maps:
MWH_SINK_OK_PORT=${MWH_SINK_OK_PORT:-2525}           # relay.example.test: accepts everything   -> status=sent
MWH_SINK_BOUNCE_PORT=${MWH_SINK_BOUNCE_PORT:-2526}   # bounce.example.test: 550 5.1.1 at RCPT     -> status=bounced
MWH_DEAD_PORT=${MWH_DEAD_PORT:-2527}                 # nothing listens: relayhost for other domains -> deferred, Connection refused
MWH_SINK_GREY_PORT=${MWH_SINK_GREY_PORT:-2528}       # greylist.example.test: 451 4.7.1 at RCPT -> deferred

# Provider-mapped sinks (provider-sink.py, one process): transport_maps send mail for chosen
# addresses at gmail.com, outlook.com, hotmail.com, yahoo.com, aol.com and icloud.com to
# [127.0.0.1]:port next hops (those domains are never looked up), where each port answers one
# stage with the provider's real reputation reply (multi-line where the provider's is). Ports
# MWH_PROVIDER_SINK_BASE .. +7; the table is in configure.sh (provider-sinks.json).
MWH_PROVIDER_SINK_BASE=${MWH_PROVIDER_SINK_BASE:-2530}
# Loopback "remote MTAs" for outbound TLS: three more smtpd services of the same Postfix, serving
# the harness certificate, which accept and discard. smtp_tls_CAfile is MWH_CERT; the untrusted one
# is reached through a transport without a CA file.
MWH_TLS_SINK_VERIFIED_PORT=${MWH_TLS_SINK_VERIFIED_PORT:-2541}   # secure, harness certificate: Verified
MWH_TLS_SINK_TRUSTED_PORT=${MWH_TLS_SINK_TRUSTED_PORT:-2543}     # encrypt, harness certificate: Trusted
MWH_TLS_SINK_UNTRUSTED_PORT=${MWH_TLS_SINK_UNTRUSTED_PORT:-2542} # encrypt, no CA file (transport smtp-untrusted): Untrusted
# postscreen on an extra loopback port; it hands clients that pass to the "smtpd pass" service.
MWH_POSTSCREEN_PORT=${MWH_POSTSCREEN_PORT:-2555}
# Saturation: an smtpd service with an anvil connection rate limit of 2 per client and minute.
MWH_RATELIMIT_PORT=${MWH_RATELIMIT_PORT:-2557}

# ------------------------------------------------------------------ Rspamd (milter next to OpenDKIM)
# Workers on loopback: the proxy in milter mode (Postfix's second milter), the normal worker that
# scans, the controller (GET /stat: Rspamd's own counts; /metrics in 3.x too). Harness-owned
# configuration in MWH_RSPAMD_CONF (LOCAL_CONFDIR: /etc/rspamd is left as packaged), state in
# MWH_VAR/rspamd (fresh at every start), its log in Rspamd's default file format at MWH_RSPAMD_LOG.
MWH_RSPAMD_MILTER_PORT=${MWH_RSPAMD_MILTER_PORT:-11332}
MWH_RSPAMD_NORMAL_PORT=${MWH_RSPAMD_NORMAL_PORT:-11333}
MWH_RSPAMD_CONTROLLER_PORT=${MWH_RSPAMD_CONTROLLER_PORT:-11334}
MWH_RSPAMD_URL=http://127.0.0.1:$MWH_RSPAMD_CONTROLLER_PORT
MWH_RSPAMD_CONF=${MWH_RSPAMD_CONF:-$MWH_ETC/rspamd}
MWH_RSPAMD_LOG=${MWH_RSPAMD_LOG:-/var/log/rspamd/rspamd.log}

# ------------------------------------------------------------------ TLS and DKIM
MWH_TLS_DIR=$MWH_ETC/tls
MWH_CERT=$MWH_TLS_DIR/mail.crt                      # self-signed, CN=$MWH_HOSTNAME, SAN 127.0.0.1 ::1 localhost
MWH_KEY=$MWH_TLS_DIR/mail.key
# notAfter = configure time + N days (re-issued by every configure). Above the 30 days of the
# shipped MailCertificateExpiringSoon alert and `mailwatchd check`'s cert_expiry_warning, so the
# healthy stack raises no certificate warning; tests that need an expiring certificate make their own.
MWH_CERT_DAYS=${MWH_CERT_DAYS:-90}
MWH_DKIM_SELECTOR=${MWH_DKIM_SELECTOR:-mwh}         # mwh._domainkey.example.test
MWH_DKIM_DIR=$MWH_ETC/dkim
MWH_DKIM_KEY=$MWH_DKIM_DIR/$MWH_DKIM_SELECTOR.private
MWH_DKIM_PORT=${MWH_DKIM_PORT:-8891}                # OpenDKIM milter inet:8891@127.0.0.1
MWH_DKIM_BROKEN_DOMAIN=broken.$MWH_DOMAIN           # in the signing table but not the key table

# ------------------------------------------------------------------ loopback DNS (dnsmasq)
# Authoritative for the test names only, never forwards: anything else is REFUSED. Records:
#   example.test MX 10 mail.example.test; mail.example.test A 127.0.0.1 (PTR 127.0.0.1 -> it)
#   example.test TXT "v=spf1 ..."; _dmarc.example.test TXT "v=DMARC1 ..."; mwh._domainkey TXT (real key)
#   MTA-STS and TLS-RPT: see the MTA-STS block below
#   DNSBL zone MWH_DNSBL_ZONE: MWH_DNSBL_LISTED_IP -> 127.0.0.2 (+TXT), MWH_DNSBL_ERROR_IP ->
#   127.255.255.254 (Spamhaus-style "error" answer), any other IP -> NXDOMAIN.
MWH_DNS_ADDR=${MWH_DNS_ADDR:-127.0.0.1}
MWH_DNS_PORT=${MWH_DNS_PORT:-5353}
MWH_DNS_SERVER=$MWH_DNS_ADDR:$MWH_DNS_PORT
# Queries for MWH_DNS_HANG_ZONE are forwarded by dnsmasq to dns-blackhole.py on this port, which
# never answers: a DNSBL zone whose server hangs.
MWH_DNS_HANG_ZONE=${MWH_DNS_HANG_ZONE:-hang.test}
MWH_DNS_HANG_PORT=${MWH_DNS_HANG_PORT:-5354}
MWH_DNSBL_ZONE=${MWH_DNSBL_ZONE:-dnsbl.test}
MWH_DNSBL_LISTED_IP=${MWH_DNSBL_LISTED_IP:-127.0.0.2}
MWH_DNSBL_ERROR_IP=${MWH_DNSBL_ERROR_IP:-127.0.0.3}
MWH_DNSBL_CLEAN_IP=${MWH_DNSBL_CLEAN_IP:-127.0.0.1}

# ------------------------------------------------------------------ MTA-STS policy host (mta-sts-server.py)
# https://mta-sts.$MWH_DOMAIN/.well-known/mta-sts.txt on an address of its own, port 443 (RFC 8461
# section 3.3 fixes it; mailwatchd has no port override). The harness certificate (MWH_CERT) also
# names mta-sts.$MWH_DOMAIN, so one CA file (MWH_CERT) verifies the policy host and the MX.
# dnsmasq publishes mta-sts.$MWH_DOMAIN A MWH_MTASTS_ADDR, _mta-sts TXT "v=STSv1; id=MWH_MTASTS_ID;"
# and _smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@$MWH_DOMAIN". The policy (mode enforce,
# mx MWH_HOSTNAME, max_age MWH_MTASTS_MAX_AGE) is MWH_MTASTS_POLICY, re-read at every request:
# tests rewrite it to change the policy.
MWH_MTASTS_ADDR=${MWH_MTASTS_ADDR:-127.0.0.80}
MWH_MTASTS_PORT=443
MWH_MTASTS_HOST=mta-sts.$MWH_DOMAIN
MWH_MTASTS_ID=${MWH_MTASTS_ID:-20260101T000000}
MWH_MTASTS_MAX_AGE=${MWH_MTASTS_MAX_AGE:-86400}
MWH_MTASTS_POLICY=$MWH_ETC/mta-sts/mta-sts.txt

# ------------------------------------------------------------------ Prometheus, Alertmanager, webhook
# All on 127.0.0.1, scrape and rule evaluation every 1 s. Job "mailwatchd" is discovered from
# MWH_PROM_SD_DIR/mailwatchd*.json (file_sd, written by e2e tests); job "extra" scrapes
# MWH_PROM_EXTRA_TARGETS (comma list host:port) and MWH_PROM_SD_DIR/extra*.json. Rule files:
# MWH_PROM_RULES_DIR/*.yml (tests may add files there and POST /-/reload) plus
# MWH_PROM_EXTRA_RULES (comma list of absolute paths).
MWH_PROM_PORT=${MWH_PROM_PORT:-19090}
MWH_AM_PORT=${MWH_AM_PORT:-19093}
MWH_HOOK_PORT=${MWH_HOOK_PORT:-19099}
MWH_PROM_URL=http://127.0.0.1:$MWH_PROM_PORT
MWH_AM_URL=http://127.0.0.1:$MWH_AM_PORT
MWH_HOOK_URL=http://127.0.0.1:$MWH_HOOK_PORT        # GET /alerts: every notification received, as JSON
MWH_PROM_SD_DIR=${MWH_PROM_SD_DIR:-$MWH_VAR/prometheus-sd}
MWH_PROM_RULES_DIR=${MWH_PROM_RULES_DIR:-$MWH_VAR/prometheus-rules}
MWH_PROM_EXTRA_TARGETS=${MWH_PROM_EXTRA_TARGETS:-}
MWH_PROM_EXTRA_RULES=${MWH_PROM_EXTRA_RULES:-}
MWH_HOOK_LOG=$MWH_VAR/webhook.jsonl                 # one JSON line per notification
MWH_PROMTOOL=${MWH_PROMTOOL:-/usr/bin/promtool}

# ------------------------------------------------------------------ traffic and e2e
MWH_PLAN_FILE=$MWH_RUN/traffic-plan.env             # what traffic.sh sent (counts, log offsets)
MWH_MAILWATCHD_BIN=${MWH_MAILWATCHD_BIN:-}          # default: ./mailwatchd at the repo root
MWH_EGRESS_GUARD=${MWH_EGRESS_GUARD:-1}             # iptables: reject+count non-loopback packets of stack users
