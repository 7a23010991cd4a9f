// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package deploy holds no code: its tests check the shipped systemd unit,
// alert rules and dashboards against the tools that will run them and
// against the metrics mailwatchd really exports.
package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/config"
)

// tool finds a command, skipping the test when it is absent unless CI asks
// for it (MAILWATCHD_REQUIRE_TOOLS=1).
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("MAILWATCHD_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s not found (apt-get install %s)", name, pkg)
		}
		t.Skipf("%s not found; apt-get install %s to run this test", name, pkg)
	}
	return p
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T, path string) ruleFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(data, &rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

func TestPromtoolRules(t *testing.T) {
	t.Parallel()
	promtool := tool(t, "promtool", "prometheus")
	files, _ := filepath.Glob("prometheus/*.yml")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.yml") || strings.HasSuffix(f, ".example.yml") {
			continue // rule tests, and Prometheus configurations (TestFleetExampleConfigs)
		}
		if out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput(); err != nil {
			t.Errorf("promtool check rules %s: %v\n%s", f, err, out)
		}
	}
	cmd := exec.Command(promtool, "test", "rules", "alerts_test.yml", "alerts_long_test.yml")
	cmd.Dir = "prometheus"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

// TestEveryAlertTestedAndDocumented: each alert has severity, summary,
// description, a runbook section, and a firing and a silent unit test.
func TestEveryAlertTestedAndDocumented(t *testing.T) {
	t.Parallel()
	rf := loadRules(t, "prometheus/alerts.yml")
	runbooks, err := os.ReadFile("../docs/runbooks.md")
	if err != nil {
		t.Fatal(err)
	}
	var tests []byte
	for _, f := range []string{"prometheus/alerts_test.yml", "prometheus/alerts_long_test.yml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, data...)
	}
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			for _, k := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[k] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, k)
				}
			}
			anchor := r.Annotations["runbook_url"][strings.LastIndexByte(r.Annotations["runbook_url"], '#')+1:]
			if !regexp.MustCompile(`(?mi)^## ` + regexp.QuoteMeta(anchor) + `$`).Match(runbooks) {
				t.Errorf("%s: docs/runbooks.md has no section for #%s", r.Alert, anchor)
			}
			for _, kind := range []string{"fires on the fault", "stays silent when healthy"} {
				if !strings.Contains(string(tests), "name: "+r.Alert+" "+kind) {
					t.Errorf("%s: alerts_test.yml has no %q test", r.Alert, kind)
				}
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d alerts found", n)
	}
}

// TestThresholdsInStep keeps `mailwatchd check` and the alert rules on the
// same thresholds.
func TestThresholdsInStep(t *testing.T) {
	t.Parallel()
	var th config.Thresholds
	th.ApplyDefaults()
	secs := func(d interface{ Seconds() float64 }) float64 { return d.Seconds() }
	want := map[string]float64{
		"PostfixQueueHigh":              float64(th.QueueMessagesWarning),
		"PostfixQueueCritical":          float64(th.QueueMessagesCritical),
		"PostfixDeferredMailOld":        secs(th.DeferredAgeWarning.D()),
		"MailDiskSpaceLow":              th.DiskFreeWarningRatio,
		"MailDiskSpaceCritical":         th.DiskFreeCriticalRatio,
		"MailInodesLow":                 th.DiskFreeWarningRatio,
		"MailCertificateExpiringSoon":   secs(th.CertExpiryWarning.D()),
		"MailCertificateExpiryCritical": secs(th.CertExpiryCritical.D()),
		"MailBackupTooOld":              secs(th.BackupAgeCritical.D()),
		"ClamAVSignaturesOld":           secs(th.ClamAVAgeWarning.D()),
		"MailLogSilent":                 secs(th.LogSilenceWarning.D()),
	}
	want["PostfixServiceNearProcessLimit"] = th.ProcessLimitWarningRatio
	want["DovecotServiceNearProcessLimit"] = th.ProcessLimitWarningRatio
	want["PostfixSASLUserHighVolume"] = float64(th.SASLMessagesWarning)
	want["PostfixSASLUserManyClientIPs"] = float64(th.SASLClientIPsWarning)
	// The threshold is the number (or product of numbers) right after the
	// first comparison operator (>, >=, <, <=) against a constant.
	cmpRe := regexp.MustCompile(`[<>]=? ([0-9.]+(?: \* [0-9.]+)*)`)
	found := map[string]bool{}
	for _, g := range loadRules(t, "prometheus/alerts.yml").Groups {
		for _, r := range g.Rules {
			w, ok := want[r.Alert]
			if !ok {
				continue
			}
			found[r.Alert] = true
			m := cmpRe.FindStringSubmatch(r.Expr)
			if m == nil {
				t.Errorf("%s: no threshold in %q", r.Alert, r.Expr)
				continue
			}
			got := 1.0
			for _, f := range strings.Split(m[1], " * ") {
				v, _ := strconv.ParseFloat(f, 64)
				got *= v
			}
			if fmt.Sprintf("%.6g", got) != fmt.Sprintf("%.6g", w) {
				t.Errorf("%s: alert threshold %g, check default %g: change both together", r.Alert, got, w)
			}
		}
	}
	for a := range want {
		if !found[a] {
			t.Errorf("alert %s not found", a)
		}
	}
}

var metricRe = regexp.MustCompile(`[a-z0-9_:]*mailwatch_[a-z0-9_]+:?`)

// TestDeployUsesCatalogueMetrics: every mailwatch_ metric named by a rule,
// dashboard or runbook is in the README's metric catalogue. The e2e tests
// check the catalogue against a live scrape.
func TestDeployUsesCatalogueMetrics(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	catalogue := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(mailwatch_[a-z0-9_]+)`").FindAllSubmatch(readme, -1) {
		catalogue[string(m[1])] = true
	}
	files, _ := filepath.Glob("prometheus/*.yml")
	more, _ := filepath.Glob("grafana/*.json")
	files = append(files, more...)
	files = append(files, "../docs/runbooks.md")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.yml") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range metricRe.FindAllString(string(data), -1) {
			if strings.Contains(m, ":") {
				continue // a recording rule's name, not an exported metric
			}
			if !inCatalogue(catalogue, m) {
				t.Errorf("%s uses %s, which is not in the README metric catalogue", f, m)
			}
		}
	}
}

// inCatalogue reports whether the README documents m, or the histogram whose
// _bucket, _sum or _count series it is.
func inCatalogue(catalogue map[string]bool, m string) bool {
	if catalogue[m] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(m, suffix); ok && catalogue[base] {
			return true
		}
	}
	return false
}

// TestSystemdUnit runs systemd-analyze verify and the offline security
// audit (exposure must stay at or below 2.0).
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	sa := tool(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile("systemd/mailwatchd.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify wants the ExecStart binary to exist: point it at a real one.
	dir := t.TempDir()
	path := filepath.Join(dir, "mailwatchd.service")
	text := strings.ReplaceAll(string(unit), "/usr/bin/mailwatchd", "/bin/true")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sa, "verify", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(sa, "security", "--offline=true", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if v, _ := strconv.ParseFloat(string(m[1]), 64); v > 2.0 {
		t.Errorf("exposure level %v, want <= 2.0", v)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "ExecReload=", "ProtectSystem=strict", "NoNewPrivileges=yes", "SupplementaryGroups=adm systemd-journal postdrop mail"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %q", want)
		}
	}
}

type panel struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type dashboardJSON struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
}

func dashboardExprs(ps []panel) map[string]string {
	out := map[string]string{}
	for _, p := range ps {
		for i, t := range p.Targets {
			out[fmt.Sprintf("%s #%d", p.Title, i)] = t.Expr
		}
		for k, v := range dashboardExprs(p.Panels) {
			out[k] = v
		}
	}
	return out
}

// TestDashboards: stable uids, a datasource and an instance variable, every
// query scoped to $instance, and every query valid PromQL (promtool parses
// them as recording rules after substituting Grafana's variables).
func TestDashboards(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("grafana/*.json")
	if len(files) < 2 {
		t.Fatalf("want the overview and host dashboards, found %v", files)
	}
	uids := map[string]bool{}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboards\n    rules:\n")
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboardJSON
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.HasPrefix(d.UID, "mailwatchd-") || uids[d.UID] {
			t.Errorf("%s: uid %q not stable/unique", f, d.UID)
		}
		uids[d.UID] = true
		vars := map[string]string{}
		for _, v := range d.Templating.List {
			vars[v.Name] = v.Type
		}
		if vars["datasource"] != "datasource" || vars["instance"] != "query" {
			t.Errorf("%s: want datasource and instance variables, got %v", f, vars)
		}
		for where, expr := range dashboardExprs(d.Panels) {
			if !strings.Contains(expr, `instance=~"$instance"`) {
				t.Errorf("%s: panel %s is not scoped to $instance: %s", f, where, expr)
			}
			e := strings.NewReplacer("$__rate_interval", "5m", "$instance", ".+").Replace(expr)
			fmt.Fprintf(&rules, "      - record: dashboard:query%d\n        expr: %q\n", n, e)
			n++
		}
	}
	promtool := tool(t, "promtool", "prometheus")
	path := filepath.Join(t.TempDir(), "queries.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("dashboard queries do not parse: %v\n%s", err, out)
	}
}

// notOnDashboards lists the catalogue's metric families that no dashboard
// shows, each with the reason. Empty today: every exported family has a
// panel. A family added to the README catalogue must get a panel (generate.py)
// or an entry here saying why it does not deserve one.
var notOnDashboards = map[string]string{}

// TestDashboardsCoverCatalogue: every metric family of the README catalogue
// (which the e2e tests check against a live scrape) appears in a dashboard
// panel, or is on notOnDashboards with a reason.
func TestDashboardsCoverCatalogue(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	files, _ := filepath.Glob("grafana/*.json")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range metricRe.FindAllString(string(data), -1) {
			shown[m] = true
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(m, suffix); ok {
					shown[base] = true
				}
			}
		}
	}
	families := regexp.MustCompile("(?m)^\\| `(mailwatch_[a-z0-9_]+)`").FindAllSubmatch(readme, -1)
	if len(families) < 50 {
		t.Fatalf("found %d families in the README catalogue; the table's shape changed?", len(families))
	}
	for _, m := range families {
		name := string(m[1])
		why, listed := notOnDashboards[name]
		switch {
		case shown[name] && listed:
			t.Errorf("%s is on a dashboard and on notOnDashboards (%q): take it off the list", name, why)
		case !shown[name] && !listed:
			t.Errorf("%s is exported (README catalogue) but on no dashboard: add a panel in deploy/grafana/generate.py or justify it in notOnDashboards", name)
		}
	}
	for name := range notOnDashboards {
		if !regexp.MustCompile("(?m)^\\| `" + name + "`").Match(readme) {
			t.Errorf("notOnDashboards names %s, which the README catalogue does not list", name)
		}
	}
}

// TestFleetExampleConfigs: the agent and central examples are valid
// Prometheus configurations (the central one with its rule files pointed at
// this repository's), and the central one loads rules.yml and alerts.yml.
func TestFleetExampleConfigs(t *testing.T) {
	t.Parallel()
	promtool := tool(t, "promtool", "prometheus")
	if out, err := exec.Command(promtool, "check", "config", "--agent", "prometheus/agent.example.yml").CombinedOutput(); err != nil {
		t.Errorf("agent.example.yml: %v\n%s", err, out)
	}
	central, err := os.ReadFile("prometheus/central.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs("prometheus")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"rules.yml", "alerts.yml"} {
		if !strings.Contains(string(central), "/usr/share/mailwatchd/prometheus/"+f) {
			t.Errorf("central.example.yml does not load %s", f)
		}
	}
	local := strings.ReplaceAll(string(central), "/usr/share/mailwatchd/prometheus/", abs+"/")
	path := filepath.Join(t.TempDir(), "central.yml")
	if err := os.WriteFile(path, []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "config", path).CombinedOutput(); err != nil {
		t.Errorf("central.example.yml: %v\n%s", err, out)
	}
}

// TestDashboardDrillDown: the overview's host table links each area to the
// host dashboard's panel for it, with the row's host: every link names a
// panel that exists there, and the column the links read is not renamed.
func TestDashboardDrillDown(t *testing.T) {
	t.Parallel()
	read := func(path string) map[string]any {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	hostIDs := map[string]string{}
	for _, p := range read("grafana/mailwatchd-host.json")["panels"].([]any) {
		p := p.(map[string]any)
		hostIDs[fmt.Sprint(p["id"])] = fmt.Sprint(p["title"])
	}
	linkRe := regexp.MustCompile(`^/d/mailwatchd-host/mail-host\?var-instance=\$\{__data\.fields\.instance\}&viewPanel=(\d+)&\$\{__url_time_range\}$`)
	links := 0
	for _, p := range read("grafana/mailwatchd-overview.json")["panels"].([]any) {
		p := p.(map[string]any)
		if p["title"] != "Mail hosts" {
			continue
		}
		b, _ := json.Marshal(p)
		if strings.Contains(string(b), `"renameByName"`) && strings.Contains(string(b), `"instance":`) {
			t.Errorf("the host table renames its instance column, which the drill-down links read")
		}
		for _, o := range p["fieldConfig"].(map[string]any)["overrides"].([]any) {
			for _, prop := range o.(map[string]any)["properties"].([]any) {
				prop := prop.(map[string]any)
				if prop["id"] != "links" {
					continue
				}
				for _, l := range prop["value"].([]any) {
					url := fmt.Sprint(l.(map[string]any)["url"])
					m := linkRe.FindStringSubmatch(url)
					if m == nil {
						t.Errorf("drill-down link %q is not to a host dashboard panel for the row's host", url)
						continue
					}
					if _, ok := hostIDs[m[1]]; !ok {
						t.Errorf("drill-down link %q: the host dashboard has no panel %s", url, m[1])
					}
					links++
				}
			}
		}
	}
	if links < 9 {
		t.Errorf("%d drill-down links in the overview's host table, want one per column (9)", links)
	}
}
