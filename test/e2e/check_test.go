// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var writeCheckExample = flag.Bool("write-check-example", false, "write the table of TestCheckHealthyStack's real run to docs/check-example.txt")

// checkVars are StackVars for `mailwatchd check` on the healthy stack: the DNSBL is asked only
// about the address it does not list.
func checkVars(t testing.TB, env *Env) map[string]string {
	t.Helper()
	vars := StackVars(t, env).Vars
	vars["DNSBLAddresses"] = "[" + env.DNSBLClean + "]"
	return vars
}

// On the healthy stack `mailwatchd check` exits 0 and every row is OK, and the rows are the ones
// the stack has: its four services, its queue, the mail paths, every certificate, the DNSBL,
// the mail domain, ClamAV, fail2ban and the backup set (issue #12).
func TestCheckHealthyStack(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	cfg := WriteConfig(t, env, HealthyCheckConfig, checkVars(t, env))
	res := Check(t, env, cfg)
	if res.Exit != 0 || res.Status != "OK" {
		t.Errorf("exit %d, status %s; want 0, OK", res.Exit, res.Status)
	}
	for _, r := range res.Rows {
		if r.Status != "OK" {
			t.Errorf("row not OK: %v", r)
		}
	}
	queued := env.PlanInt(t, "DEFERRED_EXPECTED") + env.PlanInt(t, "HOLD_EXPECTED")
	want := map[[2]string]string{ // area, item -> value prefix
		{"services", "postfix"}:                "active",
		{"services", "dovecot"}:                "active",
		{"services", "opendkim"}:               "active",
		{"services", "fail2ban"}:               "active",
		{"queue", "postfix queue"}:             fmt.Sprintf("%d queued, ", queued),
		{"storage", env.PostfixSpool}:          "",
		{"certificates", env.CertFile}:         "expires in ",
		{"blacklists", env.DNSBLClean}:         "not listed on 1 zone",
		{"dns", env.Domain}:                    "8 checks pass", // mx spf dmarc dkim ptr fcrdns, SPF passes for 127.0.0.1, MTA-STS
		{"dns", "DANE " + env.Hostname}:        "TLSA matches served and file certificate",
		{"anti-spam", "clamav daily"}:          "signatures 3 h old",
		{"anti-spam", "fail2ban postfix-sasl"}: "1 banned",
		{"backups", "mail_backup"}:             "newest 3 h old, ",
	}
	for _, e := range certEndpoints {
		want[[2]string{"certificates", e}] = "expires in "
	}
	for k, prefix := range want {
		r, ok := res.Row(k[0], k[1])
		if !ok {
			t.Errorf("no row %s %s", k[0], k[1])
		} else if !strings.HasPrefix(r.Value, prefix) {
			t.Errorf("%v: want a value starting %q", r, prefix)
		}
	}
	if t.Failed() {
		t.Logf("mailwatchd check:\n%s\nstderr:\n%s", res.Table(), res.Stderr)
	}

	// The human table of the same configuration, as an operator sees it.
	exit, table, _ := RunCheck(t, env, cfg)
	if exit != 0 || !strings.HasPrefix(table, "AREA ") || !strings.Contains(table, "\nOK: 0 critical, 0 warning, 0 unknown, ") {
		t.Errorf("table format: exit %d\n%s", exit, table)
	}
	if *writeCheckExample {
		doc := "# `mailwatchd check` on the real-stack harness (test/harness) with nothing broken. ClamAV is\n" +
			"# not in the harness: its databases are fixtures with the ages freshclam leaves (main 90 days,\n" +
			"# bytecode 30 days, daily 3 hours). Written by\n" +
			"# go test -tags e2e -run TestCheckHealthyStack ./test/e2e/ -args -write-check-example\n" +
			"$ mailwatchd check\n" + table + fmt.Sprintf("$ echo $?\n%d\n", exit)
		if err := os.WriteFile(filepath.Join(repoRoot(t), "docs", "check-example.txt"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Queue thresholds below what the harness has queued turn the queue row WARN, then CRIT.
func TestCheckQueueAboveThreshold(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	queued := env.PlanInt(t, "DEFERRED_EXPECTED") + env.PlanInt(t, "HOLD_EXPECTED")
	for _, c := range []struct {
		name, warning, critical, status string
		exit                            int
	}{
		{"warning", fmt.Sprint(queued - 1), fmt.Sprint(queued + 500), "WARN", 1},
		{"critical", fmt.Sprint(queued - 2), fmt.Sprint(queued - 1), "CRIT", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			vars := checkVars(t, env)
			vars["QueueWarning"], vars["QueueCritical"] = c.warning, c.critical
			res := Check(t, env, WriteConfig(t, env, HealthyCheckConfig, vars))
			wantOnly(t, res, c.exit, map[[2]string]string{{"queue", "postfix queue"}: c.status})
		})
	}
}

// A certificate file that expires in 10 days (openssl, verifying against itself) is a WARN:
// within cert_expiry_warning (30d), not yet cert_expiry_critical (7d).
func TestCheckCertificateFileExpiring(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	dir := t.TempDir()
	cert, _ := MakeCert(t, dir, "expiring", env.Hostname, 10)
	// Both self-signed certificates are roots, so the WARN is the expiry alone.
	bundle := filepath.Join(dir, "roots.pem")
	var pem []byte
	for _, f := range []string{env.CertFile, cert} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pem = append(pem, b...)
	}
	if err := os.WriteFile(bundle, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	vars := checkVars(t, env)
	vars["ExtraCertFiles"] = ", " + cert
	vars["CAFile"] = bundle
	res := Check(t, env, WriteConfig(t, env, HealthyCheckConfig, vars))
	wantOnly(t, res, 1, map[[2]string]string{{"certificates", cert}: "WARN"})
	if r, ok := res.Row("certificates", cert); ok && r.Value != "expires in 9 days" && r.Value != "expires in 10 days" {
		t.Errorf("%v: want \"expires in 9 days\" (10 days minus the seconds since openssl)", r)
	}
}

// wantOnly checks that the given rows have the given status and that the exit status is the
// given one: no other row is worse than the rows the test provoked.
func wantOnly(t *testing.T, res *CheckResult, exit int, rows map[[2]string]string) {
	t.Helper()
	if res.Exit != exit {
		t.Errorf("exit %d, want %d", res.Exit, exit)
	}
	for k, st := range rows {
		if r, ok := res.Row(k[0], k[1]); !ok {
			t.Errorf("no row %s %s", k[0], k[1])
		} else if r.Status != st {
			t.Errorf("%v: want %s", r, st)
		}
	}
	if t.Failed() {
		t.Logf("mailwatchd check:\n%s\nstderr:\n%s", res.Table(), res.Stderr)
	}
}
