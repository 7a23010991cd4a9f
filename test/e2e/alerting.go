// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The shipped alert rules, adapted for a test that must see them fire within two minutes.
// deploy/prometheus/alerts.yml is loaded as is except for two documented changes:
//
//  1. Every `for:` becomes alertFor. The faults the tests inject hold continuously once in
//     place, and 5 s still spans five rule evaluations and several scrapes (the harness
//     Prometheus scrapes and evaluates every second), so one odd scrape cannot fire an alert.
//  2. Two rules get a second rule of the same name with their threshold lowered, limited to the
//     target this test binary registered for one scenario (so that no other test daemon sees
//     it), and labelled e2e_threshold="lowered" and mwh_run: PostfixQueueHigh (one below the
//     number of deferred messages the traffic plan leaves in the queue, for the target with
//     mwh_scenario="queue_high"; its sum drops the target's mwh_run) and
//     PostfixSASLUserHighVolume (one below the burst of saslburst_test.go, for
//     mwh_scenario="sasl_burst": a burst above the shipped 300 messages would cost the e2e run
//     minutes). The original rules stay for every target.
//
// Every other rule, MailAuthFailureSpike and MailLogSilent included, keeps its expression and
// threshold: alerts_log_test.go drives a real SASL brute force above the shipped rate (more
// than 0.2 failures/s over 5 minutes) rather than lowering it.
//
// The rule file is named after runID, so that test binaries running at the same time against
// the same stack (another engineer's, or a second `go test`) each load and remove only their
// own copy: one binary's TestMain no longer unloads the rules another binary's alert tests are
// waiting on. Identical alerts from two copies have the same labels, and Alertmanager
// deduplicates them.
const (
	alertFor      = "5s"
	queueScenario = "queue_high"
)

// alertRulesFile is the name of this test binary's rule file in Env.PromRulesDir.
var alertRulesFile = "mailwatchd-alerts-e2e-" + runID + ".yml"

// runID tells this test binary's alerts from those of earlier runs against the same stack (the
// webhook receiver keeps every notification, and a daemon may get a port an earlier one had).
// Scenario targets carry it as the label mwh_run.
var runID = fmt.Sprintf("%d-%d", time.Now().Unix(), os.Getpid())

type promRuleFile struct {
	Groups []promRuleGroup `yaml:"groups"`
}

// readRuleFile reads and decodes the rule file name of deploy/prometheus.
func readRuleFile(t testing.TB, name string) promRuleFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "prometheus", name))
	if err != nil {
		t.Fatal(err)
	}
	var f promRuleFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("deploy/prometheus/%s: %v", name, err)
	}
	return f
}

type promRuleGroup struct {
	Name  string         `yaml:"name"`
	Rules []promRule     `yaml:"rules"`
	Rest  map[string]any `yaml:",inline"`
}

type promRule struct {
	Alert  string            `yaml:"alert,omitempty"`
	Record string            `yaml:"record,omitempty"`
	Expr   string            `yaml:"expr"`
	For    string            `yaml:"for,omitempty"`
	Labels map[string]string `yaml:"labels,omitempty"`
	Rest   map[string]any    `yaml:",inline"`
}

// queueHighExpr is the selector and threshold of the shipped PostfixQueueHigh rule.
const queueHighExpr = `(mailwatch_postfix_queue_messages{queue!="corrupt"}) > 100`

// saslVolumeExpr is the shipped PostfixSASLUserHighVolume rule.
const saslVolumeExpr = `mailwatch_postfix_sasl_top_sender_messages{rank="1"} > 300`

// loweredRule is a rule of alerts.yml that the e2e copy repeats with a lower threshold: the part
// of its expression replaced, and by what.
type loweredRule struct {
	alert, expr, lowered string
}

func loweredRules(t testing.TB, env *Env) []loweredRule {
	return []loweredRule{
		{"PostfixQueueHigh", queueHighExpr, fmt.Sprintf(`(mailwatch_postfix_queue_messages{queue!="corrupt", mwh_scenario=%q, mwh_run=%q}) > %d`,
			queueScenario, runID, env.PlanInt(t, "DEFERRED_EXPECTED")-1)},
		{"PostfixSASLUserHighVolume", saslVolumeExpr, fmt.Sprintf(`mailwatch_postfix_sasl_top_sender_messages{rank="1", mwh_scenario=%q, mwh_run=%q} > %d`,
			saslBurstScenario, runID, saslBurstMessages-1)},
	}
}

// testAlertRules returns the e2e copy of deploy/prometheus/alerts.yml (see above).
func testAlertRules(t testing.TB, env *Env) []byte {
	t.Helper()
	f := readRuleFile(t, "alerts.yml")
	lower := loweredRules(t, env)
	found := map[string]bool{}
	for gi := range f.Groups {
		g := &f.Groups[gi]
		var extra []promRule
		for ri := range g.Rules {
			r := &g.Rules[ri]
			if r.For != "" {
				r.For = alertFor
			}
			for _, l := range lower {
				if r.Alert != l.alert {
					continue
				}
				if !strings.Contains(r.Expr, l.expr) {
					t.Fatalf("alerts.yml: %s is %q, no longer ...%s: update the e2e copy", l.alert, r.Expr, l.expr)
				}
				found[l.alert] = true
				c := *r
				c.Expr = strings.Replace(r.Expr, l.expr, l.lowered, 1)
				c.Labels = map[string]string{"e2e_threshold": "lowered", "mwh_run": runID}
				for k, v := range r.Labels {
					c.Labels[k] = v
				}
				extra = append(extra, c)
			}
		}
		g.Rules = append(g.Rules, extra...)
	}
	for _, l := range lower {
		if !found[l.alert] {
			t.Fatalf("alerts.yml has no %s rule", l.alert)
		}
	}
	out, err := yaml.Marshal(&f)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte("# Generated by test/e2e (alerting.go) from deploy/prometheus/alerts.yml: for shortened,\n"+
		"# PostfixQueueHigh and PostfixSASLUserHighVolume also with a lowered threshold for one test\n"+
		"# target each. Removed after the tests.\n"), out...)
}

var rulesOnce struct {
	sync.Once
	err  error
	done bool // false if the loading test stopped half-way (t.Fatal)
}

// LoadAlertRules puts the e2e copy of the shipped alert rules into the harness Prometheus
// (once per test binary; TestMain removes it again) and waits until Prometheus evaluates them.
func (e *Env) LoadAlertRules(t testing.TB) {
	t.Helper()
	rulesOnce.Do(func() {
		rulesOnce.err = e.loadAlertRules(t)
		rulesOnce.done = true
	})
	if !rulesOnce.done {
		t.Fatal("loading the alert rules failed in another test")
	}
	if rulesOnce.err != nil {
		t.Fatalf("load the alert rules into the harness Prometheus: %v", rulesOnce.err)
	}
}

func (e *Env) loadAlertRules(t testing.TB) error {
	body := testAlertRules(t, e)
	tmp := filepath.Join(t.TempDir(), alertRulesFile)
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(e.Promtool, "check", "rules", tmp).CombinedOutput(); err != nil {
		return fmt.Errorf("promtool check rules: %v\n%s\n%s", err, out, body)
	}
	final := filepath.Join(e.PromRulesDir, alertRulesFile)
	if err := os.WriteFile(final+".tmp", body, 0o644); err != nil {
		return err
	}
	if err := os.Rename(final+".tmp", final); err != nil {
		return err
	}
	loadedRulesFile = final
	prom := e.Prometheus()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := prom.Reload(ctx); err != nil {
		return err
	}
	return Eventually(30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		files, err := prom.AlertRuleFiles(ctx)
		if err != nil {
			return err
		}
		names := files[alertRulesFile]
		for _, want := range []string{"MailServiceDown", "PostfixQueueHigh", "MailCertificateExpiringSoon", "MailCertificateNotReloaded",
			"MailHostBlacklisted", "MailAuthFailureSpike", "MailLogSilent"} {
			if !names[want] {
				return fmt.Errorf("Prometheus has not loaded %s from %s yet", want, final)
			}
		}
		return nil
	})
}

// loadedRulesFile is the rule file LoadAlertRules wrote, for TestMain to remove.
var loadedRulesFile string

// unloadAlertRules removes the e2e rule file and makes Prometheus forget it.
func unloadAlertRules() {
	if loadedRulesFile == "" {
		return
	}
	os.Remove(loadedRulesFile)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = (&Prometheus{URL: os.Getenv("MWH_PROM_URL")}).Reload(ctx)
}

// AlertRuleFiles lists the alerting rules Prometheus evaluates, by the base name of the rule
// file they come from.
func (p *Prometheus) AlertRuleFiles(ctx context.Context) (map[string]map[string]bool, error) {
	var data struct {
		Groups []struct {
			File  string `json:"file"`
			Rules []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.get(ctx, "/api/v1/rules?type=alert", &data); err != nil {
		return nil, err
	}
	files := map[string]map[string]bool{}
	for _, g := range data.Groups {
		f := filepath.Base(g.File)
		if files[f] == nil {
			files[f] = map[string]bool{}
		}
		for _, r := range g.Rules {
			files[f][r.Name] = true
		}
	}
	return files, nil
}

// ReceivedAlert is one alert of a webhook notification.
type ReceivedAlert struct {
	Status string
	Labels map[string]string
}

// ReceivedAlerts returns every alert the webhook receiver got whose labels include match.
func (e *Env) ReceivedAlerts(ctx context.Context, match map[string]string) ([]ReceivedAlert, error) {
	ns, err := e.Notifications(ctx)
	if err != nil {
		return nil, err
	}
	var out []ReceivedAlert
	for _, n := range ns {
		for _, a := range n.Alerts {
			if hasLabels(a.Labels, match) {
				out = append(out, ReceivedAlert{Status: a.Status, Labels: a.Labels})
			}
		}
	}
	return out, nil
}

// WaitAlert waits until the webhook receiver got the alert whose labels include match
// (alertname among them) with the given status (firing or resolved), and returns its labels.
func (e *Env) WaitAlert(t testing.TB, status string, match map[string]string, timeout time.Duration) map[string]string {
	t.Helper()
	var got map[string]string
	start := time.Now()
	err := Eventually(timeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		as, err := e.ReceivedAlerts(ctx, match)
		if err != nil {
			return err
		}
		for _, a := range as {
			if a.Status == status {
				got = a.Labels
				return nil
			}
		}
		return fmt.Errorf("no %s alert %v among %d matching notifications", status, match, len(as))
	})
	if err != nil {
		t.Fatalf("webhook: %v (waited %v)", err, timeout)
	}
	t.Logf("%s %s reached the webhook after %v", status, match["alertname"], time.Since(start).Round(time.Second))
	return got
}

// alertNames is the sorted alertname set of as.
func alertNames(as []ReceivedAlert) []string {
	seen := map[string]bool{}
	for _, a := range as {
		seen[a.Labels["alertname"]+"/"+a.Status] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
