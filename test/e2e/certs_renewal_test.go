// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// The renewal an admin forgets to finish (issue #7): the certificate file of the real Postfix
// and Dovecot is renewed as certbot does (a new certificate put in place atomically, no
// reload). On its next run the certs collector sees every endpoint still serving the old one
// (endpoint_matches_file 0); after `postfix reload` and Dovecot's SIGHUP every endpoint serves
// the file again (1), with the new notAfter. The collector's minimum interval is a minute, so
// each "next run" is the first run of a fresh daemon, which is ready once it has run.
//
// Deliberately not parallel: Go runs every sequential test before it resumes the parallel
// ones, so no other test sees the stack between the renewal and the reload. The stack is left
// with the renewed certificate, served and on disk, which is as healthy as before.
func TestCertRenewalWithoutReload(t *testing.T) {
	env := LoadEnv(t)
	section := `  certs:
    interval: 1m
    timeout: 20s
    files: [{{.Env.CertFile}}]
    discover: {postfix: false, dovecot: false}
    endpoints:
`
	for _, e := range certEndpoints {
		section += `      - {target: "` + e + `", server_name: {{.Env.Hostname}}, expect_file: {{.Env.CertFile}}}
`
	}
	cfg := OnlyConfig(map[string]string{"certs": section})
	run := func() map[string]*dto.MetricFamily {
		t.Helper()
		d := StartDaemon(t, env, DaemonOptions{Config: cfg})
		defer d.Stop(t)
		return d.Metrics(t)
	}

	// matching waits until every endpoint's endpoint_matches_file is want and, if notAfter is
	// set, the file and every endpoint report it.
	matching := func(want float64, notAfter time.Time) func(map[string]*dto.MetricFamily) error {
		return func(mfs map[string]*dto.MetricFamily) error {
			for _, e := range certEndpoints {
				tg := map[string]string{"target": e}
				v, err := SampleValue(mfs, "mailwatch_cert_endpoint_matches_file", tg)
				if err != nil {
					return err
				}
				if v != want {
					return fmt.Errorf("mailwatch_cert_endpoint_matches_file{target=%q} = %g, want %g", e, v, want)
				}
				if notAfter.IsZero() {
					continue
				}
				if v, err := SampleValue(mfs, "mailwatch_cert_not_after_timestamp_seconds", tg); err != nil || v != float64(notAfter.Unix()) {
					return fmt.Errorf("%s serves notAfter %g (%v), want %d", e, v, err, notAfter.Unix())
				}
			}
			if notAfter.IsZero() {
				return nil
			}
			if v, err := SampleValue(mfs, "mailwatch_cert_not_after_timestamp_seconds", map[string]string{"target": env.CertFile}); err != nil || v != float64(notAfter.Unix()) {
				return fmt.Errorf("%s: notAfter %g (%v), want %d", env.CertFile, v, err, notAfter.Unix())
			}
			return nil
		}
	}

	old := CertNotAfter(t, env.CertFile)
	if err := matching(1, old)(run()); err != nil {
		t.Fatalf("before the renewal: %v", err)
	}

	env.Harness(t, "renew-cert")
	var reload sync.Once
	// Whatever happens below, the stack serves its certificate file again afterwards.
	t.Cleanup(func() { reload.Do(func() { env.Harness(t, "reload") }) })
	renewed := CertNotAfter(t, env.CertFile)
	if !renewed.After(old) {
		t.Fatalf("renewed certificate's notAfter %v is not after the old %v", renewed, old)
	}

	// The file has the new notAfter; the daemons still serve the old certificate.
	mfs := run()
	if err := matching(0, time.Time{})(mfs); err != nil {
		t.Error(err)
	}
	wantValue(t, mfs, "mailwatch_cert_not_after_timestamp_seconds", map[string]string{"target": env.CertFile}, float64(renewed.Unix()))
	for _, e := range certEndpoints {
		wantValue(t, mfs, "mailwatch_cert_not_after_timestamp_seconds", map[string]string{"target": e}, float64(old.Unix()))
	}

	reload.Do(func() { env.Harness(t, "reload") })
	// Postfix replaces its smtpd processes as they go idle, Dovecot its login processes at once:
	// allow a few runs.
	err := Eventually(30*time.Second, func() error { return matching(1, renewed)(run()) })
	if err != nil {
		t.Errorf("after postfix reload and dovecot SIGHUP: %v", err)
	}
}
