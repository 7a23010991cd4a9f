// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// mtastsSection checks MTA-STS of the harness domain alone, trusting the harness certificate
// (self-signed: its own CA) for the policy host and the MX. No dane section: the MX host
// mail.example.test is found as a sender finds it, by its MX record and its A record in the
// harness dnsmasq, and read on port 25.
const mtastsSection = `  mail_dns:
    enabled: true
    interval: 1m
    timeout: 30s
    resolver: {servers: ["{{.Env.DNSServer}}"], query_timeout: 2s}
    mta_sts_ca_file: {{.Env.CertFile}}
    domains:
      - {domain: {{.Env.Domain}}, mta_sts: true}
`

// MTA-STS on the real stack (issue #19): the harness publishes _mta-sts and _smtp._tls TXT
// records in its dnsmasq zone and serves the policy at https://mta-sts.example.test (port 443 on
// its own loopback address, mta-sts-server.py) with the harness certificate, which the real
// Postfix serves on port 25 of the MX. The daemon fetches the policy, exports its mode, max_age
// and the record's validity, and judges the MX and its served certificate as an enforcing
// sender would. Then the harness policy changes (mode testing, another max_age, an mx pattern
// that misses the MX) under the same _mta-sts id: `mailwatchd check` names the MX and the reason
// at once, the daemon's next run follows (and sees the policy changed without a new id), and
// MailMTASTSPolicyProblem reaches the webhook through the harness Prometheus and Alertmanager.
//
// Not parallel: it rewrites the harness's policy, which the healthy-stack tests (mailDNSSection)
// read too. The policy is restored when it ends.
func TestMTASTSOnRealStack(t *testing.T) {
	env := LoadEnv(t)
	policy := env.Var("MWH_MTASTS_POLICY")
	maxAge, err := strconv.Atoi(env.Var("MWH_MTASTS_MAX_AGE"))
	if policy == "" || err != nil {
		t.Fatalf("MWH_MTASTS_POLICY %q / MWH_MTASTS_MAX_AGE %q not set: run the tests with the harness environment", policy, env.Var("MWH_MTASTS_MAX_AGE"))
	}
	orig, err := os.ReadFile(policy)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(orig), "mx: "+env.Hostname+"\r\n") {
		t.Fatalf("the harness policy %s does not cover %s:\n%s", policy, env.Hostname, orig)
	}
	t.Cleanup(func() {
		if err := writePolicy(policy, orig); err != nil {
			t.Errorf("restore the harness policy: %v", err)
		}
	})

	cfg := OnlyConfig(map[string]string{"mail_dns": mtastsSection}) + noLogs
	d := startScenario(t, env, "mta-sts", cfg, nil)
	dom := map[string]string{"domain": env.Domain}
	mx := with(dom, "mx", env.Hostname)
	mfs := d.WaitMetrics(t, 90*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		_, err := SampleValue(mfs, "mailwatch_dns_mta_sts_policy_valid", dom)
		return err
	})
	wantValue(t, mfs, "mailwatch_dns_mta_sts_policy_valid", dom, 1)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_mode", with(dom, "mode", "enforce"), 1)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_mode", with(dom, "mode", "testing"), 0)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_max_age_seconds", dom, float64(maxAge))
	wantValue(t, mfs, "mailwatch_dns_mta_sts_mx_covered", dom, 1)
	wantValue(t, mfs, "mailwatch_dns_tls_rpt_record_present", dom, 1)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_policy_id_info", with(dom, "id", env.Var("MWH_MTASTS_ID")), 1)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_policy_changed_without_new_id", dom, 0)
	// The real Postfix serves the harness certificate on port 25: it names the MX and chains to
	// the CA file.
	wantMXResult(t, mfs, mx, "ok")
	if t.Failed() {
		t.FailNow()
	}

	// The policy changes: testing mode, a shorter max_age, and an mx pattern that no longer
	// covers the MX (a typo an admin makes when moving the MX).
	changed := "version: STSv1\r\nmode: testing\r\nmx: mx.elsewhere.test\r\nmax_age: 3600\r\n"
	if err := writePolicy(policy, []byte(changed)); err != nil {
		t.Fatal(err)
	}
	// `mailwatchd check` makes its own run now and names the MX and the reason.
	res := Check(t, env, WriteConfig(t, env, cfg, nil))
	want := "failing: mta-sts " + env.Hostname + ": matches no mx pattern of the policy"
	if r, ok := res.Row("dns", env.Domain); !ok || r.Value != want || r.Status != "WARN" {
		t.Errorf("check row dns %s: %v (found %v), want WARN %q\n%s", env.Domain, r, ok, want, res.Table())
	}
	// The daemon's next run (interval 1m) follows.
	mfs = d.WaitMetrics(t, 150*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		v, err := SampleValue(mfs, "mailwatch_dns_mta_sts_mode", with(dom, "mode", "testing"))
		if err != nil || v != 1 {
			return fmt.Errorf("mode testing = %g (%v), want 1", v, err)
		}
		return nil
	})
	wantValue(t, mfs, "mailwatch_dns_mta_sts_policy_valid", dom, 1)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_mode", with(dom, "mode", "enforce"), 0)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_max_age_seconds", dom, 3600)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_mx_covered", dom, 0)
	wantMXResult(t, mfs, mx, "not_covered")
	// The TXT record kept its id: senders that cached the enforce policy keep it.
	wantValue(t, mfs, "mailwatch_dns_mta_sts_policy_id_info", with(dom, "id", env.Var("MWH_MTASTS_ID")), 1)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_policy_changed_without_new_id", dom, 1)
	env.WaitAlert(t, "firing", with(scenarioAlert(d, "MailMTASTSPolicyProblem"), "domain", env.Domain), alertDeadline)
}

// wantMXResult: the one-hot mailwatch_dns_mta_sts_mx_result of the MX is result.
func wantMXResult(t *testing.T, mfs map[string]*dto.MetricFamily, mx map[string]string, result string) {
	t.Helper()
	found := false
	for _, s := range Samples(mfs, "mailwatch_dns_mta_sts_mx_result") {
		if !hasLabels(s.Labels, mx) {
			continue
		}
		want := 0.0
		if s.Labels["result"] == result {
			want, found = 1, true
		}
		if s.Value != want {
			t.Errorf("%v, want %g", s, want)
		}
	}
	if !found {
		t.Errorf("no mailwatch_dns_mta_sts_mx_result %v with result %q", mx, result)
	}
}

// writePolicy replaces the harness policy file atomically: the policy host reads it at every
// request and never sees half a file.
func writePolicy(path string, body []byte) error {
	tmp := filepath.Join(filepath.Dir(path), ".mta-sts.txt.new")
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
