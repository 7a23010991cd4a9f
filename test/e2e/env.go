// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

// Package e2e tests the built mailwatchd binary against the real stack of the project's harness
// (Postfix, Dovecot, OpenDKIM, fail2ban, journald, dnsmasq, Prometheus and Alertmanager, all on
// loopback). Run everything with `make e2e` (root, throwaway machine), which builds the binary and
// calls test/run-e2e.sh. Against a stack that is already running (test/harness/harness.sh up):
//
//	eval "$(test/harness/harness.sh env)"
//	go test -tags e2e -count=1 ./test/e2e/...
//
// The helpers here (Env, StartDaemon, Prometheus, the metric lookups) are meant for every e2e
// test: they start the binary on a free loopback port, wait for readiness, scrape and parse
// /metrics, query the harness Prometheus and stop the daemon by its PID.
//
// The tests:
//
//   - stack_test.go: the daemon runs, passes promtool, is scraped, works as the monitor user;
//   - collectors_test.go: every collector against the real stack (StackConfig), compared with
//     the traffic plan, postqueue -j, openssl, the loopback DNS, fail2ban and apt-get; fail2ban
//     as the monitor user with the shipped ACL;
//   - catalogue_test.go: the README metric table against a live scrape, both ways;
//   - certs_renewal_test.go: a renewed certificate file without a reload, on the real Postfix
//     and Dovecot, then the reload;
//   - journal_test.go: the same traffic counted through the journal and through the file;
//   - dnsbl_hang_test.go: a DNSBL zone whose server never answers;
//   - alerts_log_test.go: a real SASL brute force and a silent log source fire the log alerts;
//   - saslburst_test.go: one SASL user submits a burst from many addresses, across a restart of
//     the daemon: the rank slots, check, the status page and the SASL alerts;
//   - dashboards_test.go: every Grafana panel names exported metrics and, after real traffic,
//     returns data from the harness Prometheus (exceptions listed with their reason);
//   - check_test.go, dovecot_test.go: `mailwatchd check` on the healthy stack, with Dovecot
//     stopped, with the queue above its thresholds, with a certificate file about to expire;
//   - alerts_test.go, dovecot_test.go: deploy/prometheus/alerts.yml (see alerting.go) fires for
//     injected faults, through Prometheus and Alertmanager to the webhook, and stays quiet on
//     the healthy stack.
//
// TestDovecotDown, TestCertRenewalWithoutReload and TestJournalCountsEqualFile change the
// shared stack or need it quiet; they are not parallel, so Go runs them before every parallel
// test, and each leaves the stack healthy when it returns.
package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// Env is the harness stack as described by the MWH_* variables of test/harness/env.sh (and the
// MWH_PLAN_* variables of the traffic plan), which test/run-e2e.sh exports.
type Env struct {
	Binary       string // the mailwatchd binary under test
	PromURL      string // harness Prometheus, e.g. http://127.0.0.1:19090
	AlertURL     string // harness Alertmanager
	HookURL      string // webhook receiver: GET /alerts lists every notification
	PromSDDir    string // file_sd directory: job "mailwatchd" reads mailwatchd*.json here
	PromRulesDir string // rule files *.yml here are loaded on POST /-/reload
	Promtool     string
	MonitorUser  string // unprivileged account (groups adm, postdrop, systemd-journal)
	PostfixSpool string
	MailLog      string
	DNSServer    string // loopback DNS, HOST:PORT
	CertFile     string // certificate served on 25/465/587/143/993/4190
	LogMode      string // syslog or file, see env.sh

	Hostname     string // Postfix myhostname and the certificate's name, mail.example.test
	Domain       string // the mail domain, example.test
	DKIMSelector string // OpenDKIM selector published in the loopback DNS
	DKIMKey      string // OpenDKIM private key of that selector
	DNSBLZone    string // the loopback test DNSBL (dnsmasq)
	DNSBLListed  string // an address the test DNSBL lists (127.0.0.2)
	DNSBLError   string // an address it answers 127.255.255.254 for (a "public resolver" error)
	DNSBLClean   string // an address it does not list
	Fail2banDB   string // fail2ban's SQLite database (dbfile)
	Fail2banLog  string // fail2ban's log file
	HarnessDir   string // test/harness: harness.sh and its scripts
}

// LoadEnv reads the harness environment. It skips the test, with a hint, when the harness
// variables are not set (the stack is not running) or the binary has not been built.
func LoadEnv(t testing.TB) *Env {
	t.Helper()
	if os.Getenv("MWH_PROM_URL") == "" {
		t.Skip("harness environment not set: run `make e2e` (or ./test/run-e2e.sh as root on a throwaway machine)")
	}
	e := &Env{
		Binary:       os.Getenv("MWH_MAILWATCHD_BIN"),
		PromURL:      os.Getenv("MWH_PROM_URL"),
		AlertURL:     os.Getenv("MWH_AM_URL"),
		HookURL:      os.Getenv("MWH_HOOK_URL"),
		PromSDDir:    os.Getenv("MWH_PROM_SD_DIR"),
		PromRulesDir: os.Getenv("MWH_PROM_RULES_DIR"),
		Promtool:     getenv("MWH_PROMTOOL", "promtool"),
		MonitorUser:  getenv("MWH_MONITOR_USER", "mailmon"),
		PostfixSpool: getenv("MWH_POSTFIX_SPOOL", "/var/spool/postfix"),
		MailLog:      os.Getenv("MWH_MAILLOG"),
		DNSServer:    os.Getenv("MWH_DNS_SERVER"),
		CertFile:     os.Getenv("MWH_CERT"),
		LogMode:      os.Getenv("MWH_LOG_MODE"),
		Hostname:     getenv("MWH_HOSTNAME", "mail.example.test"),
		Domain:       getenv("MWH_DOMAIN", "example.test"),
		DKIMSelector: getenv("MWH_DKIM_SELECTOR", "mwh"),
		DKIMKey:      os.Getenv("MWH_DKIM_KEY"),
		DNSBLZone:    getenv("MWH_DNSBL_ZONE", "dnsbl.test"),
		DNSBLListed:  getenv("MWH_DNSBL_LISTED_IP", "127.0.0.2"),
		DNSBLError:   getenv("MWH_DNSBL_ERROR_IP", "127.0.0.3"),
		DNSBLClean:   getenv("MWH_DNSBL_CLEAN_IP", "127.0.0.1"),
		Fail2banDB:   getenv("MWH_FAIL2BAN_DB", "/var/lib/fail2ban/fail2ban.sqlite3"),
		Fail2banLog:  getenv("MWH_FAIL2BAN_LOG", "/var/log/fail2ban.log"),
		HarnessDir:   filepath.Join(repoRoot(t), "test", "harness"),
	}
	if e.Binary == "" {
		e.Binary = filepath.Join(repoRoot(t), "mailwatchd")
	}
	if _, err := os.Stat(e.Binary); err != nil {
		t.Skipf("mailwatchd binary not found at %s: run `make build` first (or set MWH_MAILWATCHD_BIN)", e.Binary)
	}
	return e
}

// Var returns any MWH_* variable, e.g. e.Var("MWH_PLAN_DEFERRED_EXPECTED").
func (e *Env) Var(name string) string { return os.Getenv(name) }

// PlanInt returns a count from the traffic plan (MWH_PLAN_<name>), failing the test if absent.
func (e *Env) PlanInt(t testing.TB, name string) int {
	t.Helper()
	v := os.Getenv("MWH_PLAN_" + name)
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("traffic plan value MWH_PLAN_%s = %q: %v (was traffic.sh run?)", name, v, err)
	}
	return n
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// repoRoot is two directories above this file (test/e2e).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the e2e package source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}
