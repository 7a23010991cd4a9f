// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/zap/zaptest"

	"github.com/mailwatchd/mailwatchd/internal/confval"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// TestRealStack runs the collector once, with its defaults plus endpoints,
// against the Postfix and Dovecot of the project's harness on loopback. It
// only reads their configuration and connects to them; it changes nothing.
//
//	MAILWATCH_CERTS_REALSTACK=1 go test -run TestRealStack -v ./pkg/collectors/certs/
func TestRealStack(t *testing.T) {
	if os.Getenv("MAILWATCH_CERTS_REALSTACK") == "" {
		t.Skip("set MAILWATCH_CERTS_REALSTACK=1 to check the harness's Postfix and Dovecot")
	}
	const certFile = "/etc/mailstack/tls/mail.crt"
	chain, err := readBundle(certFile)
	if err != nil {
		t.Fatal(err)
	}
	other := issue(t, nil, day(2026, 1, 1), day(2027, 1, 1)) // a "renewed" file nobody reloaded
	renewed := writeFile(t, t.TempDir()+"/renewed.pem", other.fullchain())

	var cfg Config
	cfg.CAFile = certFile // self-signed: it is its own root
	cfg.Endpoints = []Endpoint{
		{Target: "smtp://127.0.0.1:25", ServerName: "mail.example.test", ExpectFile: certFile},
		{Target: "smtp://127.0.0.1:587", ServerName: "mail.example.test", ExpectFile: certFile},
		{Target: "smtps://127.0.0.1:465", ExpectFile: certFile},
		{Target: "imap://127.0.0.1:143", ServerName: "mail.example.test", ExpectFile: certFile},
		{Target: "imaps://[::1]:993", ExpectFile: certFile},
		{Target: "imaps://127.0.0.1:993", ServerName: "wrong.example.test", ExpectFile: renewed},
	}
	cfg.Timeout = confval.Duration(30 * time.Second)
	cfg.ApplyDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c := collectortest.New(t, New, cfg, zaptest.NewLogger(t))
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout.D())
	defer cancel()
	start := time.Now()
	got, err := collectortest.Run(ctx, c)
	t.Logf("one run: %s, error %v", time.Since(start), err)

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(&collectortest.Adapter{C: c, Ctx: ctx})
	mfs, _ := reg.Gather()
	var buf bytes.Buffer
	for _, mf := range mfs {
		_, _ = expfmt.MetricFamilyToText(&buf, mf)
	}
	t.Logf("exposition:\n%s", buf.String())

	want := float64(chain[0].NotAfter.Unix())
	for _, e := range cfg.Endpoints[:5] {
		if v := got[`mailwatch_cert_not_after_timestamp_seconds{target="`+e.Target+`"}`]; v != want {
			t.Errorf("%s: not_after %v, want %v (%s)", e.Target, v, want, chain[0].NotAfter)
		}
		for _, m := range []string{"check_success", "verify_success", "endpoint_matches_file"} {
			if v := got[`mailwatch_cert_`+m+`{target="`+e.Target+`"}`]; v != 1 {
				t.Errorf("%s: %s = %v, want 1", e.Target, m, v)
			}
		}
	}
	last := cfg.Endpoints[5].Target
	if got[`mailwatch_cert_endpoint_matches_file{target="`+last+`"}`] != 0 || got[`mailwatch_cert_verify_success{target="`+last+`"}`] != 0 {
		t.Errorf("%s: want matches_file 0 and verify_success 0 (other file, wrong name)", last)
	}
	if got[`mailwatch_cert_check_success{target="`+certFile+`"}`] != 1 {
		t.Errorf("the certificate Postfix and Dovecot serve was not discovered")
	}
}
