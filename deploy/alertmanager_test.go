// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestAlertmanagerInhibitExample: the example is a valid Alertmanager
// configuration (amtool check-config) whose inhibit rule has MailMaintenance,
// an alert of alerts.yml, as its source and the instance as its scope. The
// e2e test TestMaintenanceInhibits runs it in a real Alertmanager.
func TestAlertmanagerInhibitExample(t *testing.T) {
	t.Parallel()
	const file = "alertmanager/inhibit.example.yml"
	if amtool, err := exec.LookPath("amtool"); err == nil {
		if out, err := exec.Command(amtool, "check-config", file).CombinedOutput(); err != nil {
			t.Errorf("amtool check-config %s: %v\n%s", file, err, out)
		}
	} else {
		t.Log("amtool not installed (Debian package prometheus-alertmanager): only the shape is checked")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		InhibitRules []struct {
			Source []string `yaml:"source_matchers"`
			Target []string `yaml:"target_matchers"`
			Equal  []string `yaml:"equal"`
		} `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.InhibitRules) != 1 {
		t.Fatalf("%d inhibit rules, want 1", len(cfg.InhibitRules))
	}
	r := cfg.InhibitRules[0]
	if strings.Join(r.Source, ",") != `alertname="MailMaintenance"` || strings.Join(r.Target, ",") != `alertname!="MailMaintenance"` || strings.Join(r.Equal, ",") != "instance" {
		t.Errorf("inhibit rule %+v", r)
	}
	found := false
	for _, g := range loadRules(t, "prometheus/alerts.yml").Groups {
		for _, rule := range g.Rules {
			found = found || rule.Alert == "MailMaintenance"
		}
	}
	if !found {
		t.Error("alerts.yml has no MailMaintenance, the inhibit rule's source")
	}
}
