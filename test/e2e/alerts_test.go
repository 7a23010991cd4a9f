// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Alert fidelity (issue #11): the shipped alert rules (as adapted in alerting.go), evaluated by
// the harness Prometheus on a mailwatchd started by the test, reach the webhook receiver through
// Alertmanager within alertDeadline of the fault. Each scenario runs its own daemon, registered
// with its own mwh_scenario label, and looks only at alerts of its own instance, so the scenarios
// run in parallel. Stopping Dovecot affects every daemon, so it runs alone (dovecot_test.go).
//
// The daemons of these scenarios follow no log (noLogs): a daemon follows /var/log/mail.log by
// default, and TestAlertAuthFailureSpike (alerts_log_test.go) runs a real SASL brute force
// against the shared Postfix meanwhile, which would make MailAuthFailureSpike fire, rightly, for
// every daemon that reads that log, the "healthy" one included.

// noLogs is a logs: section that follows nothing.
const noLogs = `logs:
  sources: []
`

// alertDeadline is how long a fault may take to become a notification at the webhook.
const alertDeadline = 2 * time.Minute

// quietWindow is how long the healthy stack is watched for alerts: a minute in `make e2e`,
// MWH_QUIET_WINDOW (a Go duration) in the long soak, `make e2e-soak`.
var quietWindow = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("MWH_QUIET_WINDOW")); err == nil && d > 0 {
		return d
	}
	return 60 * time.Second
}()

// startScenario starts mailwatchd with cfg, loads the alert rules and has the harness
// Prometheus scrape the daemon until it is up. The target is labelled mwh_scenario=scenario and
// mwh_run=runID, and so are its alerts: match them with scenarioAlert.
func startScenario(t *testing.T, env *Env, scenario, cfg string, vars map[string]string) *Daemon {
	t.Helper()
	return startScenarioWith(t, env, scenario, DaemonOptions{Config: cfg, Vars: vars})
}

// startScenarioWith is startScenario with every option of StartDaemon (e.g. a listen address
// chosen by the test).
func startScenarioWith(t *testing.T, env *Env, scenario string, opts DaemonOptions) *Daemon {
	t.Helper()
	env.LoadAlertRules(t)
	d := StartDaemon(t, env, opts)
	prom := env.Prometheus()
	prom.RegisterTarget(t, "mailwatchd", d.Addr, map[string]string{"mwh_scenario": scenario, "mwh_run": runID})
	up := fmt.Sprintf(`up{job="mailwatchd",instance=%q,mwh_run=%q}`, d.Addr, runID)
	prom.WaitQuery(t, up, 30*time.Second, func(res []Sample) error {
		if len(res) != 1 || res[0].Value != 1 {
			return fmt.Errorf("%s = %v", up, res)
		}
		return nil
	})
	return d
}

// scenarioAlert is the label match of alertname from the scenario daemon d.
func scenarioAlert(d *Daemon, alertname string) map[string]string {
	return map[string]string{"alertname": alertname, "instance": d.Addr, "mwh_run": runID}
}

// On the healthy stack, a daemon watching services, queue, certificates, fail2ban, the DNSBL
// (unlisted address) and the mail domain raises no alert of alerts.yml, not even a pending one,
// for quietWindow. Alerts are matched by instance alone, on an address no earlier notification
// named (unusedAddr): rules that aggregate (PostfixQueueHigh and PostfixQueueCritical sum by
// instance, job and postfix_instance) drop the target's mwh_run label, and matching on it would
// not see them. The log-based alerts are not watched here (noLogs, see above).
func TestAlertsQuietOnHealthyStack(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	vars := map[string]string{"DNSBLAddresses": "[" + env.DNSBLClean + "]", "ExtraCertFiles": "", "CAFile": env.CertFile}
	cfg := OnlyConfig(map[string]string{"service": serviceSection, "postfix_queue": queueSection, "certs": certsSection,
		"fail2ban": fail2banSection, "dnsbl": dnsblSection, "mail_dns": mailDNSSection}) + noLogs
	d := startScenarioWith(t, env, "healthy", DaemonOptions{Config: cfg, Vars: vars, Addr: unusedAddr(t, env)})
	up := time.Now() // Prometheus scrapes the daemon from here on
	prom := env.Prometheus()
	// The series the alerts are written against are in Prometheus before the window starts.
	for _, c := range []struct {
		sel string // a selector left open for the instance matcher
		n   int
	}{
		{`mailwatch_service_state{state="active",unit=~"postfix|dovecot|opendkim|fail2ban",`, 4},
		{`mailwatch_postfix_queue_messages{`, 6},
		{`mailwatch_cert_endpoint_matches_file{`, len(certEndpoints)},
		{`mailwatch_dnsbl_listed{`, 1},
		{`mailwatch_dns_check_success{`, 6},
		{`mailwatch_dns_mta_sts_mx_result{result="ok",`, 1},
		{`mailwatch_fail2ban_jail_active{`, 3},
	} {
		q := fmt.Sprintf(`count(%sinstance=%q,mwh_run=%q})`, c.sel, d.Addr, runID)
		prom.WaitQuery(t, q, 30*time.Second, func(res []Sample) error {
			if len(res) != 1 || res[0].Value != float64(c.n) {
				return fmt.Errorf("%s = %v, want %d", q, res, c.n)
			}
			return nil
		})
	}

	time.Sleep(quietWindow) // the quiet period is what this test measures
	// Pending or firing at any evaluation since the target came up.
	q := fmt.Sprintf(`max_over_time(ALERTS{instance=%q}[%ds])`, d.Addr, int(time.Since(up).Seconds())+2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := prom.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res {
		t.Errorf("alert on the healthy stack: %v", s)
	}
	as, err := env.ReceivedAlerts(ctx, map[string]string{"instance": d.Addr})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) > 0 {
		t.Errorf("the webhook got alerts for the healthy stack: %v", alertNames(as))
	}
}

// More deferred mail than the (lowered) threshold: PostfixQueueHigh.
func TestAlertPostfixQueueHigh(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	d := startScenario(t, env, queueScenario, OnlyConfig(map[string]string{"postfix_queue": queueSection})+noLogs, nil)
	// The rule sums away the target's labels: the lowered copy carries mwh_run itself.
	m := map[string]string{"alertname": "PostfixQueueHigh", "instance": d.Addr, "postfix_instance": "postfix"}
	env.WaitAlert(t, "firing", with(with(m, "e2e_threshold", "lowered"), "mwh_run", runID), alertDeadline)

	// The shipped threshold (100) is not reached by the default traffic volume.
	if env.PlanInt(t, "DEFERRED_EXPECTED")+env.PlanInt(t, "HOLD_EXPECTED") <= 100 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		as, err := env.ReceivedAlerts(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Labels["e2e_threshold"] == "" {
				t.Errorf("PostfixQueueHigh with the shipped threshold fired below 100 messages: %v", a.Labels)
			}
		}
	}
}

// The loopback DNSBL lists the address: MailHostBlacklisted.
func TestAlertHostBlacklisted(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	vars := map[string]string{"DNSBLAddresses": "[" + env.DNSBLListed + "]"}
	d := startScenario(t, env, "dnsbl", OnlyConfig(map[string]string{"dnsbl": dnsblSection})+noLogs, vars)
	m := with(scenarioAlert(d, "MailHostBlacklisted"), "target", env.DNSBLListed)
	env.WaitAlert(t, "firing", with(m, "zone", env.DNSBLZone), alertDeadline)
}

// An SMTPS endpoint serving a certificate that expires in 10 days: MailCertificateExpiringSoon
// (and not yet MailCertificateExpiryCritical). Then the certificate file is renewed, as certbot
// does, but the server is not reloaded: MailCertificateNotReloaded.
func TestAlertCertificates(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	dir := t.TempDir()
	served, key := MakeCert(t, dir, "served", env.Hostname, 10)
	live := filepath.Join(dir, "fullchain.pem")
	if err := copyFile(served, live, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := StartSMTPS(t, served, key, env.Hostname)
	const certsOnly = `  certs:
    interval: 1m
    timeout: 15s
    files: []
    discover: {postfix: false, dovecot: false}
    ca_file: {{.Vars.CAFile}}
    endpoints:
      - {target: "{{.Vars.Target}}", server_name: {{.Env.Hostname}}, expect_file: {{.Vars.Live}}}
`
	vars := map[string]string{"CAFile": served, "Target": srv.Target, "Live": live}
	d := startScenario(t, env, "certs", OnlyConfig(map[string]string{"certs": certsOnly})+noLogs, vars)
	tg := map[string]string{"target": srv.Target}
	mfs := d.Metrics(t)
	wantValue(t, mfs, "mailwatch_cert_verify_success", tg, 1)
	wantValue(t, mfs, "mailwatch_cert_endpoint_matches_file", tg, 1)
	wantValue(t, mfs, "mailwatch_cert_not_after_timestamp_seconds", tg, float64(CertNotAfter(t, served).Unix()))

	env.WaitAlert(t, "firing", with(scenarioAlert(d, "MailCertificateExpiringSoon"), "target", srv.Target), alertDeadline)

	// Renewed: a new certificate and key replace the file (atomically, like certbot's symlink
	// switch); the server keeps serving the old one. The next certs run (1m) sees the mismatch.
	renewed, _ := MakeCert(t, dir, "renewed", env.Hostname, 90)
	if err := copyFile(renewed, live+".new", 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(live+".new", live); err != nil {
		t.Fatal(err)
	}
	env.WaitAlert(t, "firing", with(scenarioAlert(d, "MailCertificateNotReloaded"), "target", srv.Target), alertDeadline)
	wantValue(t, d.Metrics(t), "mailwatch_cert_endpoint_matches_file", tg, 0)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if as, err := env.ReceivedAlerts(ctx, scenarioAlert(d, "MailCertificateExpiryCritical")); err != nil || len(as) > 0 {
		t.Errorf("MailCertificateExpiryCritical for a certificate 10 days from expiry (threshold 7 days): %v %v", as, err)
	}
}
