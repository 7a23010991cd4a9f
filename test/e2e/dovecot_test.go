// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Dovecot stops (the harness's recorded PID gets SIGTERM): `mailwatchd check` exits 2 with the
// Dovecot row CRIT (issue #12), and MailServiceDown reaches the webhook (issue #11); once the
// harness starts Dovecot again, the daemon sees it active and the alert resolves.
//
// Deliberately not parallel: Go runs every sequential test before it resumes the parallel ones,
// so no other test sees the stack without Dovecot.
func TestDovecotDown(t *testing.T) {
	env := LoadEnv(t)
	// Not the submission ports: their smtpd asks Dovecot for SASL mechanisms, exits fatally
	// without it, and Postfix then throttles the service for service_throttle_time (60 s), which
	// would break the TLS checks of the tests that run after this one.
	var endpoints []string
	for _, e := range certEndpoints {
		if !strings.HasSuffix(e, ":587") && !strings.HasSuffix(e, ":465") {
			endpoints = append(endpoints, e)
		}
	}
	checkCfg := WriteConfig(t, env, checkConfig(endpoints), checkVars(t, env))
	d := startScenario(t, env, "dovecot_down", OnlyConfig(map[string]string{"service": serviceSection}), nil)
	dovecot := map[string]string{"unit": "dovecot"}
	d.WaitMetrics(t, 20*time.Second, serviceState(dovecot, "active"))
	prom := env.Prometheus()
	active := fmt.Sprintf(`mailwatch_service_state{instance=%q,mwh_run=%q,unit="dovecot",state="active"}`, d.Addr, runID)
	prom.WaitQuery(t, active, 30*time.Second, func(res []Sample) error {
		if len(res) != 1 || res[0].Value != 1 {
			return fmt.Errorf("%s = %v, want 1", active, res)
		}
		return nil
	})

	restart := env.StopService(t, "dovecot")
	stopped := time.Now()

	res := Check(t, env, checkCfg)
	if res.Exit != 2 || res.Status != "CRIT" {
		t.Errorf("check with Dovecot stopped: exit %d, status %s; want 2, CRIT", res.Exit, res.Status)
	}
	if r, ok := res.Row("services", "dovecot"); !ok || r.Status != "CRIT" || r.Value != "inactive" {
		t.Errorf("check: Dovecot row %v (found %v), want CRIT inactive", r, ok)
	}
	// Dovecot's TLS ports (IMAP and ManageSieve) are closed too; nothing else may be CRIT.
	for _, r := range res.Rows {
		ours := r.Area == "certificates" && (strings.HasPrefix(r.Item, "imap") || strings.HasPrefix(r.Item, "sieve"))
		if r.Status == "CRIT" && !ours && r.Item != "dovecot" {
			t.Errorf("check: CRIT row not caused by Dovecot: %v", r)
		}
		if ours && r.Status != "CRIT" {
			t.Errorf("check: %v, want CRIT while Dovecot is stopped", r)
		}
	}
	if t.Failed() {
		t.Logf("mailwatchd check with Dovecot stopped:\n%s", res.Table())
	}

	m := with(scenarioAlert(d, "MailServiceDown"), "unit", "dovecot")
	env.WaitAlert(t, "firing", m, alertDeadline-time.Since(stopped))

	restart()
	d.WaitMetrics(t, 30*time.Second, serviceState(dovecot, "active"))
	env.WaitAlert(t, "resolved", m, time.Minute)
}

// serviceState waits for the one-hot state of a service.
func serviceState(unit map[string]string, state string) func(map[string]*dto.MetricFamily) error {
	return func(mfs map[string]*dto.MetricFamily) error {
		v, err := SampleValue(mfs, "mailwatch_service_state", with(unit, "state", state))
		if err != nil {
			return err
		}
		if v != 1 {
			return fmt.Errorf("mailwatch_service_state%v = %g", with(unit, "state", state), v)
		}
		return nil
	}
}
