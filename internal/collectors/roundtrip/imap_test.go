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

func imapConfig(sendmail string, s *fakeIMAP, tt testTLS, starttls bool) Config {
	cfg := baseConfig(sendmail, "")
	cfg.Mailbox.Method = MethodIMAP
	cfg.Mailbox.IMAP = Server{Address: s.addr, TLS: TLSImplicit, CAFile: tt.caFile, Username: s.user, PasswordFile: ""}
	if starttls {
		cfg.Mailbox.IMAP.TLS = TLSStartTLS
	}
	return cfg
}

// Over IMAP (implicit TLS and STARTTLS): a straggler of this host is
// deleted (a UID the server lists but cannot fetch is not counted), the probe arrives signed, is checked and expunged by its UID;
// the folder's other message stays.
func TestProbeIMAP(t *testing.T) {
	t.Parallel()
	for _, starttls := range []bool{false, true} {
		t.Run(map[bool]string{false: "tls", true: "starttls"}[starttls], func(t *testing.T) {
			t.Parallel()
			tt := newTestTLS(t)
			srv := startIMAP(t, tt, starttls, true, false)
			srv.ghosts = []int{99} // listed by the index, its message gone: no straggler
			srv.add([]byte("From: a@example.org\r\nSubject: not a probe\r\n\r\nhello\r\n"))
			srv.add(probeMessage("probe@example.org", "box@example.org", testHost, "00112233445566778899aabb", time.Now().Add(-time.Hour)))
			key := newSigner(t)
			r, _ := dnsFor(t, key.record)
			mta, sendmail := startMTA(t, "")
			mta.set(func(m *fakeMTA) {
				m.sign, m.signDomain, m.spamHeader, m.deliver = &key, testDomain, "X-Spamd-Result", srv.add
			})
			cfg := imapConfig(sendmail, srv, tt, starttls)
			cfg.Mailbox.IMAP.PasswordFile = writePassword(t, srv.pw)
			c := newTestCollector(t, cfg, r)
			s, err := runProbe(t, c, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got := lastResult(s); got != ResultOK {
				t.Fatalf("last result %q, want ok (%v)", got, s)
			}
			if s["mailwatch_roundtrip_stragglers_removed_total{}"] != 1 {
				t.Errorf("stragglers: %v", s["mailwatch_roundtrip_stragglers_removed_total{}"])
			}
			if n := srv.count(); n != 1 {
				t.Errorf("the folder holds %d messages, want only the other one", n)
			}
			srv.mu.Lock()
			cmds := strings.Join(srv.cmds, "\n")
			srv.mu.Unlock()
			for _, want := range []string{"UID SEARCH HEADER X-Mailwatchd-Probe \"host=" + testHost + ";\"", "UID FETCH ", "UID EXPUNGE ", "LOGOUT"} {
				if !strings.Contains(cmds, want) {
					t.Errorf("no %q among the commands:\n%s", want, cmds)
				}
			}
			if strings.Contains(cmds, "\nEXPUNGE") {
				t.Error("a plain EXPUNGE was sent")
			}
		})
	}
}

// IMAP failures are mailbox errors, each with its reason: a wrong
// password, a certificate that does not verify, a server without UIDPLUS
// (the probe is only flagged), and a server that never answers, which
// ends before the run's deadline.
func TestProbeIMAPErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		password string
		noCA     bool
		uidplus  bool
		hang     bool
		want     string
	}{
		{name: "wrong password", password: "wrong", uidplus: true, want: "AUTHENTICATIONFAILED"},
		{name: "unverified certificate", noCA: true, uidplus: true, want: "certificate"},
		{name: "no UIDPLUS", uidplus: false, want: "lacks UIDPLUS"},
		{name: "hung server", uidplus: true, hang: true, want: "imap greeting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tt := newTestTLS(t)
			srv := startIMAP(t, tt, false, tc.uidplus, tc.hang)
			mta, sendmail := startMTA(t, "")
			mta.set(func(m *fakeMTA) { m.deliver = srv.add })
			cfg := imapConfig(sendmail, srv, tt, false)
			cfg.DKIMDomain, cfg.SpamHeader = "", ""
			pw := srv.pw
			if tc.password != "" {
				pw = tc.password
			}
			cfg.Mailbox.IMAP.PasswordFile = writePassword(t, pw)
			if tc.noCA {
				cfg.Mailbox.IMAP.CAFile = ""
			}
			c := newTestCollector(t, cfg, nil)
			core, logs := observer.New(zap.WarnLevel)
			c.logger = zap.New(core)
			start := time.Now()
			s, err := runProbe(t, c, 3*time.Second)
			if err != nil {
				t.Fatalf("the run failed instead of reporting the probe's result: %v", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("the run took %s, past its deadline", d)
			}
			if got := lastResult(s); got != ResultMailboxError {
				t.Errorf("last result %q, want mailbox_error", got)
			}
			if e := logs.All(); len(e) != 1 || !strings.Contains(e[0].ContextMap()["error"].(string), tc.want) {
				t.Errorf("log %v does not say %q", e, tc.want)
			}
		})
	}
}
