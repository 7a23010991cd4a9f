// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Chores that fail silently (issue #19) on the real stack: a failed certbot renewal (certbot's
// own log format, read as on a host without systemd, like the harness) fires
// MailCertbotRenewalFailed through the harness Prometheus and Alertmanager and resolves when a
// renewal succeeds; maintenance mode, set with the real command while that alert fires, makes
// the shipped inhibit rule silence it in a real Alertmanager; and the configuration hashes
// follow a change made with postconf.

// choresSection watches certbot's log and apt's stamps in the test's directories.
const choresSection = `  service:
    backend: process
    interval: 5s
    timeout: 4s
    timers: [certbot.timer, apt-daily.timer]
    certbot_log_dir: {{.Vars.CertbotDir}}
    apt_periodic_dir: {{.Vars.PeriodicDir}}
  maintenance:
    interval: 1s
    timeout: 500ms
  config_drift:
    enabled: false
`

// certbot 2.1's debug log of a renew run that failed, and of one that succeeded.
const (
	certbotFailedLog = `2026-12-06 00:00:01,100:DEBUG:certbot._internal.main:certbot version: 2.1.0
2026-12-06 00:00:01,101:DEBUG:certbot._internal.main:Arguments: ['-q', 'renew']
2026-12-06 00:00:05,300:ERROR:certbot._internal.renewal:Failed to renew certificate mail.example.test with error: Some challenges have failed.
2026-12-06 00:00:05,302:DEBUG:certbot._internal.log:Exiting abnormally:
certbot.errors.Error: 1 renew failure(s), 0 parse failure(s)
`
	certbotGoodLog = `2026-12-06 12:00:01,100:DEBUG:certbot._internal.main:certbot version: 2.1.0
2026-12-06 12:00:01,101:DEBUG:certbot._internal.main:Arguments: ['-q', 'renew']
2026-12-06 12:00:02,201:DEBUG:certbot._internal.renewal:no renewal failures
`
)

func TestChoresCertbotAndMaintenance(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	dir, err := os.MkdirTemp("", "mailwatchd-chores-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	certbot, periodic := filepath.Join(dir, "letsencrypt"), filepath.Join(dir, "periodic")
	for _, d := range []string{certbot, periodic} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeLog := func(content string) {
		t.Helper()
		tmp := filepath.Join(certbot, ".new")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(certbot, "letsencrypt.log")); err != nil {
			t.Fatal(err)
		}
	}
	writeLog(certbotFailedLog)
	if err := os.WriteFile(filepath.Join(periodic, "update-stamp"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := OnlyConfig(map[string]string{"service": choresSection}) + noLogs
	d := startScenario(t, env, "chores", cfg, map[string]string{"CertbotDir": certbot, "PeriodicDir": periodic})

	// The timer's failure reaches the webhook through the harness Alertmanager.
	env.WaitAlert(t, "firing", scenarioAlert(d, "MailCertbotRenewalFailed"), alertDeadline)
	mfs := d.Metrics(t)
	if v := sampleValue(mfs, "mailwatch_timer_last_result_success", map[string]string{"timer": "apt-daily.timer"}); v != 1 {
		t.Errorf("apt-daily.timer from its stamp: last_result_success %v, want 1", v)
	}

	// Maintenance, set by the real command on the daemon's state directory.
	out, err := exec.Command(env.Binary, "maintenance", "start", "--for", "1h", "--reason", "e2e maintenance",
		"--config.file", filepath.Join(d.Dir, "config.yaml")).CombinedOutput()
	if err != nil {
		t.Fatalf("mailwatchd maintenance start: %v\n%s", err, out)
	}
	prom := env.Prometheus()
	maint := fmt.Sprintf(`ALERTS{alertname="MailMaintenance",alertstate="firing",instance=%q,mwh_run=%q}`, d.Addr, runID)
	prom.WaitQuery(t, maint, alertDeadline, func(res []Sample) error {
		if len(res) != 1 {
			return fmt.Errorf("%s = %v", maint, res)
		}
		return nil
	})
	env.WaitAlert(t, "firing", scenarioAlert(d, "MailMaintenance"), alertDeadline)

	// The shipped inhibit rule in a real Alertmanager (the harness's binary), fed the alerts
	// the harness Prometheus has firing for this daemon, as Prometheus sends them.
	am := startAlertmanager(t, env)
	firing := promAlerts(t, env, d.Addr)
	am.post(t, firing)
	// The same alert from another host of the fleet, not in maintenance, must still notify:
	// the rule is scoped to the instance.
	const other = "mail2.example.test:10099"
	var fromOther []amAlert
	for _, a := range firing {
		if a.Labels["alertname"] == "MailCertbotRenewalFailed" {
			c := a
			c.Labels = map[string]string{}
			for k, v := range a.Labels {
				c.Labels[k] = v
			}
			c.Labels["instance"] = other
			fromOther = append(fromOther, c)
		}
	}
	am.post(t, fromOther)
	states := am.states(t, d.Addr)
	if s := states["MailCertbotRenewalFailed"]; s != "suppressed" {
		t.Errorf("MailCertbotRenewalFailed in maintenance: state %q, want suppressed (inhibited)", s)
	}
	if s := states["MailMaintenance"]; s != "active" {
		t.Errorf("MailMaintenance: state %q, want active", s)
	}
	if s := am.states(t, other)["MailCertbotRenewalFailed"]; s != "active" {
		t.Errorf("MailCertbotRenewalFailed of a host not in maintenance: state %q, want active", s)
	}

	out, err = exec.Command(env.Binary, "maintenance", "stop", "--config.file", filepath.Join(d.Dir, "config.yaml")).CombinedOutput()
	if err != nil {
		t.Fatalf("mailwatchd maintenance stop: %v\n%s", err, out)
	}
	prom.WaitQuery(t, maint, alertDeadline, func(res []Sample) error {
		if len(res) != 0 {
			return fmt.Errorf("%s = %v, want it gone", maint, res)
		}
		return nil
	})
	// Prometheus sends a resolved alert with its end time; so does the test.
	for i := range firing {
		if firing[i].Labels["alertname"] == "MailMaintenance" {
			firing[i].EndsAt = time.Now().Add(-time.Second)
		}
	}
	am.post(t, promAlerts(t, env, d.Addr))
	am.post(t, firing)
	err = Eventually(30*time.Second, func() error {
		if s := am.states(t, d.Addr)["MailCertbotRenewalFailed"]; s != "active" {
			return fmt.Errorf("MailCertbotRenewalFailed after maintenance: state %q, want active", s)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}

	// The next renewal succeeds: the alert resolves.
	writeLog(certbotGoodLog)
	env.WaitAlert(t, "resolved", scenarioAlert(d, "MailCertbotRenewalFailed"), alertDeadline)
}

// sampleValue is the value of the sample of name whose labels include match, NaN if none.
func sampleValue(mfs map[string]*dto.MetricFamily, name string, match map[string]string) float64 {
	for _, s := range Samples(mfs, name) {
		if hasLabels(s.Labels, match) {
			return s.Value
		}
	}
	return -1
}

// amAlert is an alert as Prometheus posts it to Alertmanager's API v2.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt,omitempty"`
}

// promAlerts returns the firing alerts of the harness Prometheus for instance.
func promAlerts(t *testing.T, env *Env, instance string) []amAlert {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var data struct {
		Alerts []struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			State       string            `json:"state"`
			ActiveAt    time.Time         `json:"activeAt"`
		} `json:"alerts"`
	}
	if err := env.Prometheus().get(ctx, "/api/v1/alerts", &data); err != nil {
		t.Fatal(err)
	}
	var out []amAlert
	for _, a := range data.Alerts {
		if a.State == "firing" && a.Labels["instance"] == instance && a.Labels["mwh_run"] == runID {
			// Prometheus keeps a firing alert alive with an end 4 evaluation intervals
			// ahead, renewed at every evaluation; a minute is ample for this test.
			out = append(out, amAlert{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.ActiveAt, EndsAt: time.Now().Add(time.Minute)})
		}
	}
	if len(out) == 0 {
		t.Fatalf("the harness Prometheus has no firing alert for %s", instance)
	}
	return out
}

// testAlertmanager is an Alertmanager started by the test with the shipped inhibit example.
type testAlertmanager struct{ url string }

// startAlertmanager runs the harness's Alertmanager binary on a free loopback port with
// deploy/alertmanager/inhibit.example.yml, its placeholder webhook pointed at a port nothing
// listens on (the test reads the alerts' state over the API, not notifications).
func startAlertmanager(t *testing.T, env *Env) *testAlertmanager {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if bin, err = exec.LookPath("alertmanager"); err != nil {
			t.Skip("no Alertmanager binary (the harness installs prometheus-alertmanager)")
		}
	}
	example, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "alertmanager", "inhibit.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sink := FreeAddr(t)
	cfg := bytes.ReplaceAll(example, []byte("http://127.0.0.1:5001/"), []byte("http://"+sink+"/"))
	if bytes.Equal(cfg, example) {
		t.Fatal("inhibit.example.yml no longer has the webhook placeholder http://127.0.0.1:5001/")
	}
	if err := os.WriteFile(filepath.Join(dir, "am.yml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // by its PID: the test started it
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", log.String())
		}
	})
	am := &testAlertmanager{url: "http://" + addr}
	if err := Eventually(30*time.Second, func() error {
		resp, err := http.Get(am.url + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ready: %s", resp.Status)
		}
		return nil
	}); err != nil {
		t.Fatalf("alertmanager: %v\n%s", err, log.String())
	}
	return am
}

func (a *testAlertmanager) post(t *testing.T, alerts []amAlert) {
	t.Helper()
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(a.url+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v2/alerts: %s", resp.Status)
	}
}

// states returns alertname -> status.state (active, suppressed, unprocessed) of the
// Alertmanager's alerts of instance, after the inhibitor had them (it runs on arrival).
func (a *testAlertmanager) states(t *testing.T, instance string) map[string]string {
	t.Helper()
	out := map[string]string{}
	q := url.Values{"filter": {fmt.Sprintf("instance=%q", instance)}}
	err := Eventually(10*time.Second, func() error {
		resp, err := http.Get(a.url + "/api/v2/alerts?" + q.Encode())
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var alerts []struct {
			Labels map[string]string `json:"labels"`
			Status struct {
				State       string   `json:"state"`
				InhibitedBy []string `json:"inhibitedBy"`
			} `json:"status"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
			return err
		}
		for _, al := range alerts {
			if al.Status.State == "unprocessed" {
				return fmt.Errorf("%s not processed yet", al.Labels["alertname"])
			}
			out[al.Labels["alertname"]] = al.Status.State
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConfigDriftFollowsPostconf: the hash of postconf -n changes when a setting is written
// with postconf -e, and comes back when it is removed. The setting is delay_warning_time at
// its default (0h): written explicitly it shows in postconf -n, and it changes nothing Postfix
// does, so tests running meanwhile see the same Postfix.
func TestConfigDriftFollowsPostconf(t *testing.T) {
	env := LoadEnv(t)
	if os.Geteuid() != 0 {
		t.Skip("postconf -e needs root")
	}
	const sec = `  config_drift:
    interval: 30s
    timeout: 20s
`
	d := StartDaemon(t, env, DaemonOptions{Config: OnlyConfig(map[string]string{}) + sec + noLogs})
	hash := func(mfs map[string]*dto.MetricFamily) string {
		for _, s := range Samples(mfs, "mailwatch_config_info") {
			if s.Labels["program"] == "postfix" {
				return s.Labels["hash"]
			}
		}
		return ""
	}
	var before string
	d.WaitMetrics(t, 20*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		if before = hash(mfs); before == "" {
			return fmt.Errorf("no postfix hash yet")
		}
		return nil
	})
	mfs := d.Metrics(t)
	for _, p := range []string{"postfix", "dovecot", "opendkim"} {
		if v := sampleValue(mfs, "mailwatch_config_read_success", map[string]string{"program": p}); v != 1 {
			t.Errorf("config of %s: read_success %v, want 1", p, v)
		}
	}
	if v := sampleValue(mfs, "mailwatch_postfix_check_success", nil); v != 1 {
		t.Errorf("postfix check on the harness: %v, want 1", v)
	}
	if out, err := exec.Command("postconf", "-n", "delay_warning_time").CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Skipf("delay_warning_time is already set in main.cf (%q, %v): not touching it", out, err)
	}
	if out, err := exec.Command("postconf", "-e", "delay_warning_time = 0h").CombinedOutput(); err != nil {
		t.Fatalf("postconf -e: %v\n%s", err, out)
	}
	restored := false
	restore := func() {
		if restored {
			return
		}
		restored = true
		if out, err := exec.Command("postconf", "-X", "delay_warning_time").CombinedOutput(); err != nil {
			t.Errorf("postconf -X delay_warning_time: %v\n%s", err, out)
		}
	}
	t.Cleanup(restore)
	var changed string
	d.WaitMetrics(t, 70*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		if changed = hash(mfs); changed == before || changed == "" {
			return fmt.Errorf("postfix hash still %q", changed)
		}
		return nil
	})
	restore()
	d.WaitMetrics(t, 70*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		if h := hash(mfs); h != before {
			return fmt.Errorf("postfix hash %q after postconf -X, want %q again", h, before)
		}
		return nil
	})
	if strings.EqualFold(before, changed) {
		t.Error("the hash did not change")
	}
}
