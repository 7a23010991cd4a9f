// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

// Configuration templates (over ConfigData) for the real-stack tests, built from one section per
// collector so that every test watches the harness the same way. Intervals are the collectors'
// minimums where a test waits for a second run, never faster than the daemon allows.

const configHead = `global:
  state_dir: {{.StateDir}}
collectors:
`

// The process backend: the harness runs without systemd, like a container. The default process
// list (pidfiles, comm names) is Debian's, which is what the harness runs.
const serviceSection = `  service:
    backend: process
    interval: 5s
    timeout: 4s
`

const queueSection = `  postfix_queue:
    interval: 10s
    timeout: 5s
    spools: [{path: {{.Env.PostfixSpool}}}]
    top_deferred_domains: 5
`

// certsSectionFor watches the given endpoints of the harness, each expected to serve the harness
// certificate, which is self-signed and therefore its own CA (.Vars.CAFile), and the files
// .Vars.ExtraCertFiles adds (", /path"...) besides the harness certificate.
func certsSectionFor(endpoints []string) string {
	s := `  certs:
    interval: 1m
    timeout: 30s
    files: [{{.Env.CertFile}}{{.Vars.ExtraCertFiles}}]
    ca_file: {{.Vars.CAFile}}
    endpoints:
`
	for _, e := range endpoints {
		s += `      - {target: "` + e + `", server_name: {{.Env.Hostname}}, expect_file: {{.Env.CertFile}}}
`
	}
	return s
}

// certEndpoints are every TLS port of the harness: SMTP with STARTTLS, submission (STARTTLS),
// submissions (implicit TLS), IMAP with STARTTLS, IMAPS.
var certEndpoints = []string{"smtp://127.0.0.1:25", "smtp://127.0.0.1:587", "smtps://127.0.0.1:465", "imap://127.0.0.1:143", "imaps://127.0.0.1:993", "sieve://127.0.0.1:4190"}

var certsSection = certsSectionFor(certEndpoints)

// dnsblSection asks the loopback DNSBL about .Vars.DNSBLAddresses (a YAML flow list). The
// resolver is the harness dnsmasq: nothing may leave loopback.
const dnsblSection = `  dnsbl:
    enabled: true
    interval: 5m
    timeout: 30s
    resolver: {servers: ["{{.Env.DNSServer}}"], query_timeout: 2s}
    addresses: {{.Vars.DNSBLAddresses}}
    zones: [{zone: {{.Env.DNSBLZone}}, kind: ip}]
`

const mailDNSSection = `  mail_dns:
    enabled: true
    interval: 1m
    timeout: 30s
    resolver: {servers: ["{{.Env.DNSServer}}"], query_timeout: 2s}
    domains:
      - domain: {{.Env.Domain}}
        dkim: [{selector: {{.Env.DKIMSelector}}, key_file: {{.Env.DKIMKey}}}]
        sending_ips: [127.0.0.1]
        mta_sts: true
    dane:
      - {mx: {{.Env.Hostname}}, address: "127.0.0.1:25", cert_file: {{.Env.CertFile}}}
    mta_sts_ca_file: {{.Env.CertFile}}
`

const fail2banSection = `  fail2ban:
    interval: 5s
    timeout: 4s
    database: {{.Env.Fail2banDB}}
    log_file: {{.Env.Fail2banLog}}
`

const filesystemSection = `  filesystem:
    interval: 5s
    timeout: 2s
    paths: [{{.Env.PostfixSpool}}, /var/mail, /var/log]
`

// The harness users' Maildirs (delivered to over LMTP by the traffic), per-domain totals on.
const mailboxSection = `  mailbox:
    interval: 15m
    timeout: 1m
    roots:
      - {path: /var/mail/*, format: mbox}
      - {path: /home/*/Maildir, format: maildir}
    domains: 5
`

// ClamAV is not part of the harness (its databases come from the internet): .Vars.ClamDir holds
// database files with real freshclam headers written by the test.
const clamavSection = `  clamav:
    interval: 5m
    database_dir: {{.Vars.ClamDir}}
`

// A nightly backup set written by the test, verified to the end.
const backupSection = `  backup:
    interval: 15m
    sets:
      - {name: mail_backup, path: "{{.Vars.BackupDir}}/mail-*.tar.gz", verify: true}
`

// Real apt-get -s dist-upgrade against the machine's package lists.
const updatesSection = `  updates:
    interval: 10m
    timeout: 2m
`

const updatesOff = `  updates:
    enabled: false
`

// roundTripHead is the probe of the harness every 10 s (timeout 8 s, delivery within 5 s) from
// mailwatchd-probe@ to the probe user (MWH_PROBE_USER), OpenDKIM's signature of the harness domain
// checked against the loopback DNS, Rspamd's X-Spamd-Result; the sections below add how it is
// submitted and where it arrives.
const roundTripHead = `  roundtrip:
    enabled: true
    interval: 10s
    timeout: 8s
    delivery_timeout: 5s
    from: mailwatchd-probe@{{.Env.Domain}}
    to: {{.Env.Var "MWH_PROBE_USER"}}@{{.Env.Domain}}
    dkim_domain: {{.Env.Domain}}
    spam_header: X-Spamd-Result
    resolver: {servers: ["{{.Env.DNSServer}}"], query_timeout: 2s}
`

// roundTripMaildir is arrival in the probe user's Maildir (MWH_PROBE_HOME), read and deleted as
// the daemon's user.
const roundTripMaildir = `    mailbox: {path: {{.Env.Var "MWH_PROBE_HOME"}}/Maildir}
`

// roundTripSection submits with sendmail as the daemon's user and finds the probe in the Maildir.
const roundTripSection = roundTripHead + roundTripMaildir

// roundTripIMAPSection finds the probe over Dovecot's IMAPS instead (the harness certificate as
// CA; .Vars.PasswordFile holds the probe user's password).
const roundTripIMAPSection = roundTripHead + `    mailbox:
      method: imap
      imap: {address: "127.0.0.1:993", server_name: {{.Env.Hostname}}, ca_file: {{.Env.CertFile}}, username: {{.Env.Var "MWH_PROBE_USER"}}, password_file: {{.Vars.PasswordFile}}}
`

// roundTripSMTPSection submits on 465 (implicit TLS, AUTH PLAIN as the probe user,
// .Vars.PasswordFile) instead of sendmail.
const roundTripSMTPSection = roundTripHead + `    submit:
      method: smtp
      smtp: {address: "127.0.0.1:465", server_name: {{.Env.Hostname}}, ca_file: {{.Env.CertFile}}, username: {{.Env.Var "MWH_PROBE_USER"}}, password_file: {{.Vars.PasswordFile}}}
` + roundTripMaildir

// roundTripStackSection is StackConfig's probe: .Vars.ProbeSendmail delivers straight into
// .Vars.ProbeMaildir (see WriteProbeMailbox), so no DKIM or spam header to check.
const roundTripStackSection = `  roundtrip:
    enabled: true
    interval: 10s
    timeout: 8s
    delivery_timeout: 5s
    from: mailwatchd-probe@{{.Env.Domain}}
    to: stack-probe@{{.Env.Domain}}
    submit: {sendmail: {{.Vars.ProbeSendmail}}}
    mailbox: {path: {{.Vars.ProbeMaildir}}}
`

// StackConfig enables every collector against the harness: the configuration of the collector
// and metric-catalogue tests. Vars: see StackVars.
var StackConfig = configHead + serviceSection + queueSection + certsSection + dnsblSection +
	mailDNSSection + fail2banSection + filesystemSection + mailboxSection + clamavSection +
	backupSection + updatesSection + saturationSection + quarantineSection + roundTripStackSection

// HealthyCheckConfig is what `mailwatchd check` judges the healthy stack with: every collector
// that has check rows, with the DNSBL asked only about the unlisted address, and without
// updates: this sandbox has pending security updates (a real WARN that no test can fix). The
// queue thresholds come from .Vars.QueueWarning and .Vars.QueueCritical (see StackVars).
var HealthyCheckConfig = checkConfig(certEndpoints)

// checkConfig is HealthyCheckConfig with the given certificate endpoints.
func checkConfig(endpoints []string) string {
	return configHead + serviceSection + queueSection + certsSectionFor(endpoints) + dnsblSection +
		mailDNSSection + fail2banSection + filesystemSection + mailboxSection + clamavSection +
		backupSection + updatesOff + `thresholds:
  queue_messages_warning: {{.Vars.QueueWarning}}
  queue_messages_critical: {{.Vars.QueueCritical}}
`
}

// defaultOn are the collectors enabled unless the configuration says otherwise.
var defaultOn = []string{"service", "postfix_queue", "mailbox", "backup", "certs", "clamav", "fail2ban", "updates", "filesystem", "saturation", "quarantine"}

// OnlyConfig is a configuration template with the given collector sections (by name) and every
// other default-on collector disabled: the daemons of the alert tests watch only what their
// scenario is about.
func OnlyConfig(sections map[string]string) string {
	s := configHead
	for _, name := range defaultOn {
		if _, ok := sections[name]; !ok {
			s += "  " + name + ":\n    enabled: false\n"
		}
	}
	for _, name := range append(defaultOn, "dnsbl", "mail_dns", "roundtrip") {
		s += sections[name]
	}
	return s
}
