// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestFleetRemoteWrite runs the fleet as deploy/prometheus documents it: two mailwatchd
// instances with their own config, state and roles (mx+submission, imap), scraped by a
// Prometheus in agent mode (deploy/prometheus/agent.example.yml) that remote-writes to a
// second, central Prometheus with the remote-write receiver on
// (deploy/prometheus/central.example.yml), which evaluates the shipped role rules and fleet
// alerts and sends them to the harness Alertmanager. Both are the real Debian prometheus
// binary. The central side must see both hosts in their roles; when the only imap host stops,
// MailRoleHostDown for that host (with its instance and role) and MailRoleDown for the role
// reach the webhook through Alertmanager, and the mx role stays quiet.
func TestFleetRemoteWrite(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	prometheus, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found: %v", err)
	}
	withRoles := func(roles string) string {
		return strings.Replace(DefaultConfig, "global:\n", "global:\n  roles: "+roles+"\n", 1)
	}
	mx := StartDaemon(t, env, DaemonOptions{Config: withRoles("[mx, submission]")})
	imap := StartDaemon(t, env, DaemonOptions{Config: withRoles("[imap]")})

	dir := t.TempDir()
	centralAddr, agentAddr := FreeAddr(t), FreeAddr(t)

	// The central Prometheus: the example, with this test's rule file, a 1 s evaluation
	// interval, the harness Alertmanager, and labels that tell this run's alerts apart.
	var central map[string]any
	readYAML(t, filepath.Join(repoRoot(t), "deploy", "prometheus", "central.example.yml"), &central)
	central["global"] = map[string]any{
		"evaluation_interval": "1s",
		"external_labels":     map[string]string{"mwh_scenario": "fleet", "mwh_run": runID},
	}
	rules := filepath.Join(dir, "fleet-rules.yml")
	writeYAML(t, rules, fleetRules(t))
	central["rule_files"] = []string{rules}
	central["alerting"] = map[string]any{"alertmanagers": []any{map[string]any{
		"static_configs": []any{map[string]any{"targets": []string{strings.TrimPrefix(env.AlertURL, "http://")}}},
	}}}
	centralFile := filepath.Join(dir, "central.yml")
	writeYAML(t, centralFile, central)
	startPrometheus(t, prometheus, "central", centralAddr,
		"--config.file="+centralFile, "--storage.tsdb.path="+filepath.Join(dir, "central-data"),
		"--web.enable-remote-write-receiver")

	// The agent: the example, scraping both daemons every second, writing to the central one.
	var agent map[string]any
	readYAML(t, filepath.Join(repoRoot(t), "deploy", "prometheus", "agent.example.yml"), &agent)
	agent["global"] = map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s"}
	scrape := agent["scrape_configs"].([]any)[0].(map[string]any)
	if scrape["job_name"] != "mailwatchd" {
		t.Fatalf("agent.example.yml: job %v, the rules expect mailwatchd", scrape["job_name"])
	}
	scrape["static_configs"] = []any{map[string]any{"targets": []string{mx.Addr, imap.Addr}}}
	rw := agent["remote_write"].([]any)[0].(map[string]any)
	rw["url"] = "http://" + centralAddr + "/api/v1/write"
	rw["queue_config"].(map[string]any)["batch_send_deadline"] = "1s"
	agentFile := filepath.Join(dir, "agent.yml")
	writeYAML(t, agentFile, agent)
	startPrometheus(t, prometheus, "agent", agentAddr,
		"--enable-feature=agent", "--config.file="+agentFile, "--storage.agent.path="+filepath.Join(dir, "agent-data"))

	// The central side sees both hosts, in their roles, through remote-write only.
	c := &Prometheus{URL: "http://" + centralAddr}
	c.WaitQuery(t, `role:mailwatch_hosts_serving:sum`, 60*time.Second, func(res []Sample) error {
		got := map[string]float64{}
		for _, s := range res {
			got[s.Labels["role"]] = s.Value
		}
		if len(got) != 3 || got["mx"] != 1 || got["submission"] != 1 || got["imap"] != 1 {
			return fmt.Errorf("serving hosts per role = %v, want mx, submission and imap at 1", got)
		}
		return nil
	})

	// The only imap host stops.
	imap.Stop(t)
	for _, want := range []map[string]string{
		{"alertname": "MailRoleHostDown", "instance": imap.Addr, "role": "imap", "job": "mailwatchd", "mwh_run": runID},
		{"alertname": "MailRoleDown", "role": "imap", "mwh_run": runID},
	} {
		got := env.WaitAlert(t, "firing", want, 90*time.Second)
		if got["severity"] == "" {
			t.Errorf("%s reached Alertmanager without a severity: %v", want["alertname"], got)
		}
	}
	// The mx host serves on: neither alert for it or its roles.
	ctx := t.Context()
	for _, quiet := range []map[string]string{
		{"alertname": "MailRoleHostDown", "instance": mx.Addr, "mwh_run": runID},
		{"alertname": "MailRoleDown", "role": "mx", "mwh_run": runID},
	} {
		as, err := env.ReceivedAlerts(ctx, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if len(as) > 0 {
			t.Errorf("%v reached the webhook although the mx host serves: %v", quiet, as)
		}
	}
}

// fleetRules is the e2e copy of the shipped rules the fleet alerts need: the recording groups
// mailwatchd-fleet and mailwatchd-roles of rules.yml and the group mail-fleet of alerts.yml,
// evaluated every second, with every for: shortened to alertFor (as for the other alert tests).
func fleetRules(t *testing.T) promRuleFile {
	t.Helper()
	var out promRuleFile
	for file, groups := range map[string][]string{"rules.yml": {"mailwatchd-fleet", "mailwatchd-roles"}, "alerts.yml": {"mail-fleet"}} {
		found := 0
		for _, g := range readRuleFile(t, file).Groups {
			for _, name := range groups {
				if g.Name != name {
					continue
				}
				found++
				if g.Rest == nil {
					g.Rest = map[string]any{}
				}
				g.Rest["interval"] = "1s"
				for i := range g.Rules {
					if g.Rules[i].For != "" {
						g.Rules[i].For = alertFor
					}
				}
				out.Groups = append(out.Groups, g)
			}
		}
		if found != len(groups) {
			t.Fatalf("deploy/prometheus/%s: want groups %v, found %d of them", file, groups, found)
		}
	}
	return out
}

// startPrometheus runs a Prometheus listening on addr, ended (by PID) when the test ends, and
// waits until it is ready.
func startPrometheus(t *testing.T, binary, name, addr string, args ...string) {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(binary, append(args, "--web.listen-address="+addr)...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s prometheus log:\n%s", name, logs.String())
		}
	})
	err := Eventually(30*time.Second, func() error {
		select {
		case err := <-exited:
			return fmt.Errorf("%s prometheus exited: %v\n%s", name, err, logs.String())
		default:
		}
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s prometheus /-/ready: %s", name, resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func writeYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
