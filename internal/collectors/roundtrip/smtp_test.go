// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package roundtrip

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func smtpConfig(s *fakeSMTP, tt testTLS, starttls bool, root string) Config {
	cfg := baseConfig("", root)
	cfg.DKIMDomain, cfg.SpamHeader = "", ""
	cfg.Submit.Method = MethodSMTP
	cfg.Submit.SMTP = Server{Address: s.addr, TLS: TLSImplicit, CAFile: tt.caFile, Username: s.user}
	if starttls {
		cfg.Submit.SMTP.TLS = TLSStartTLS
	}
	return cfg
}

// Submission over implicit TLS and STARTTLS with AUTH PLAIN: the probe is
// accepted, arrives and is deleted.
func TestProbeSMTP(t *testing.T) {
	t.Parallel()
	for _, starttls := range []bool{false, true} {
		t.Run(map[bool]string{false: "tls", true: "starttls"}[starttls], func(t *testing.T) {
			t.Parallel()
			tt := newTestTLS(t)
			root := newMaildirRoot(t)
			n := 0
			srv := startSMTP(t, tt, starttls, false, func(msg []byte) {
				n++
				writeMaildir(t, root, "smtp."+strings.Repeat("x", n), msg)
			})
			cfg := smtpConfig(srv, tt, starttls, root)
			cfg.Submit.SMTP.PasswordFile = writePassword(t, srv.pw)
			c := newTestCollector(t, cfg, nil)
			s, err := runProbe(t, c, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got := lastResult(s); got != ResultOK {
				t.Fatalf("last result %q, want ok", got)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if srv.auths != 1 || len(srv.rcpts) != 1 || !strings.Contains(srv.rcpts[0], "<probe-box@example.org>") {
				t.Errorf("auths %d, recipients %v", srv.auths, srv.rcpts)
			}
			if got := files(t, root); len(got) != 0 {
				t.Errorf("left %v", got)
			}
		})
	}
}

// A refused login, an unverified certificate and a server that never
// greets are submission errors; the hung one ends at delivery_timeout.
func TestProbeSMTPErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		pw   string
		noCA bool
		hang bool
		want string
	}{
		{name: "wrong password", pw: "wrong", want: "smtp AUTH: 535"},
		{name: "unverified certificate", noCA: true, want: "certificate"},
		{name: "hung server", hang: true, want: "smtp greeting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tt := newTestTLS(t)
			root := newMaildirRoot(t)
			srv := startSMTP(t, tt, false, tc.hang, func([]byte) {})
			cfg := smtpConfig(srv, tt, false, root)
			cfg.DeliveryTimeout = confvalDuration(time.Second)
			pw := srv.pw
			if tc.pw != "" {
				pw = tc.pw
			}
			cfg.Submit.SMTP.PasswordFile = writePassword(t, pw)
			if tc.noCA {
				cfg.Submit.SMTP.CAFile = ""
			}
			c := newTestCollector(t, cfg, nil)
			core, logs := observer.New(zap.WarnLevel)
			c.logger = zap.New(core)
			start := time.Now()
			s, err := runProbe(t, c, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("the run took %s; delivery_timeout is 1s", d)
			}
			if got := lastResult(s); got != ResultSubmitError {
				t.Errorf("last result %q, want submit_error", got)
			}
			if e := logs.All(); len(e) != 1 || !strings.Contains(e[0].ContextMap()["error"].(string), tc.want) {
				t.Errorf("log %v does not say %q", e, tc.want)
			}
		})
	}
}
