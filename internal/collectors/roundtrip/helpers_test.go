// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package roundtrip

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnstest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

const (
	testDomain   = "example.org"
	testSelector = "probe"
	testHost     = "mx1.example.org"
)

// signer is a DKIM key with its record.
type signer struct {
	key    crypto.Signer
	record string // the TXT record's text
}

func newSigner(t testing.TB) signer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{key: priv, record: "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
}

func (s signer) sign(t testing.TB, msg []byte, domain string) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: testSelector, Signer: s.key}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// dnsFor serves the key of s as probe._domainkey.<testDomain> on loopback
// and returns a resolver asking only that server.
func dnsFor(t testing.TB, record string) (*dnsclient.Client, *dnstest.Server) {
	t.Helper()
	zone := "example.org. 300 IN SOA ns.example.org. host.example.org. 1 3600 600 86400 60\n"
	if record != "" {
		zone += testSelector + "._domainkey.example.org. 300 IN TXT " + quoteTXT(record) + "\n"
	}
	srv := dnstest.Start(t, zone)
	r, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, QueryTimeout: confval.Duration(2 * time.Second)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, srv
}

func quoteTXT(s string) string {
	var parts []string
	for len(s) > 200 {
		parts = append(parts, `"`+s[:200]+`"`)
		s = s[200:]
	}
	return strings.Join(append(parts, `"`+s+`"`), " ")
}

// fakeMTA stands in for Postfix: the fake sendmail drops each message in
// spool/, and the MTA delivers it into the Maildir (or hands it to
// deliver) the way its switches say: signed by sign (when set) for
// signDomain, with the spam header, after a hold.
type fakeMTA struct {
	t       testing.TB
	spool   string
	maildir string

	mu         sync.Mutex
	sign       *signer
	signDomain string
	spamHeader string
	hold       bool     // keep messages in the spool
	held       [][]byte // what hold kept
	deliver    func([]byte)
	delivered  int
}

func newMaildirRoot(t testing.TB) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// startMTA runs the fake MTA until the test ends and returns it with the
// path of its sendmail.
func startMTA(t testing.TB, maildir string) (*fakeMTA, string) {
	t.Helper()
	dir := t.TempDir()
	m := &fakeMTA{t: t, spool: filepath.Join(dir, "spool"), maildir: maildir}
	if err := os.Mkdir(m.spool, 0o700); err != nil {
		t.Fatal(err)
	}
	sendmail := filepath.Join(dir, "sendmail")
	// Saves its arguments and the message (written aside, then renamed, as
	// postdrop does), as the real one would queue it.
	script := "#!/bin/sh\nset -e\nf=$(mktemp " + m.spool + "/.in.XXXXXX)\nprintf '%s\\n' \"$@\" > \"$f.args\"\ncat > \"$f\"\nmv \"$f.args\" \"" + m.spool + "/args\"\nmv \"$f\" \"" + m.spool + "/msg.$(basename \"$f\")\"\n"
	if err := collectortest.WriteExecutable(sendmail, []byte(script)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			m.pickup()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return m, sendmail
}

func (m *fakeMTA) set(f func(m *fakeMTA)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

func (m *fakeMTA) pickup() {
	entries, _ := os.ReadDir(m.spool)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "msg.") {
			continue
		}
		p := filepath.Join(m.spool, e.Name())
		msg, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		_ = os.Remove(p)
		m.mu.Lock()
		if m.hold {
			m.held = append(m.held, msg)
			m.mu.Unlock()
			continue
		}
		m.mu.Unlock()
		m.handle(msg)
	}
}

// release delivers what hold kept.
func (m *fakeMTA) release() {
	m.mu.Lock()
	held := m.held
	m.held, m.hold = nil, false
	m.mu.Unlock()
	for _, msg := range held {
		m.handle(msg)
	}
}

func (m *fakeMTA) handle(msg []byte) {
	m.mu.Lock()
	sign, domain, spam, deliver := m.sign, m.signDomain, m.spamHeader, m.deliver
	m.delivered++
	n := m.delivered
	m.mu.Unlock()
	// Postfix's cleanup adds Return-Path/Received before the milters sign.
	msg = append([]byte("Received: from localhost by "+testHost+" (Postfix)\r\n"), msg...)
	if spam != "" {
		msg = append([]byte(spam+": default: False [0.30 / 15.00]\r\n"), msg...)
	}
	if sign != nil {
		msg = sign.sign(m.t, msg, domain)
	}
	// Dovecot stores messages with LF line ends.
	msg = bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	if deliver != nil {
		deliver(msg)
		return
	}
	writeMaildir(m.t, m.maildir, fmt.Sprintf("%d.M%dP1.%s", time.Now().Unix(), n, testHost), msg)
}

// writeMaildir delivers as Maildir does: tmp/, then renamed into new/.
func writeMaildir(t testing.TB, root, name string, msg []byte) {
	tmp := filepath.Join(root, "tmp", name)
	if err := os.WriteFile(tmp, msg, 0o600); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(tmp, filepath.Join(root, "new", name)); err != nil {
		t.Error(err)
	}
}

// files lists what is in new/ and cur/.
func files(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(root, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			out = append(out, sub+"/"+e.Name())
		}
	}
	return out
}

func baseConfig(sendmail, maildir string) Config {
	c := Config{From: "probe@" + testDomain, To: "probe-box@" + testDomain, DKIMDomain: testDomain, SpamHeader: "X-Spamd-Result"}
	c.Submit.Sendmail = sendmail
	c.Mailbox.Path = maildir
	c.Timeout = confval.Duration(10 * time.Second)
	c.DeliveryTimeout = confval.Duration(5 * time.Second)
	c.ApplyDefaults()
	return c
}

// runProbe runs Update once with the given deadline.
func runProbe(t testing.TB, c *Collector, timeout time.Duration) (map[string]float64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return collectortest.Run(ctx, c)
}

// histogramCount is the latency histogram's sample count.
func histogramCount(t testing.TB, c *Collector) uint64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	c.emit(ch)
	close(ch)
	for m := range ch {
		if m.Desc() != latencyDesc {
			continue
		}
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		return pb.GetHistogram().GetSampleCount()
	}
	t.Fatal("no latency histogram")
	return 0
}

func newTestCollector(t testing.TB, cfg Config, r resolver) *Collector {
	t.Helper()
	return newCollector(cfg, testHost, r, time.Now, zap.NewNop())
}

// lastResult returns the result whose last_result gauge is 1.
func lastResult(s map[string]float64) string {
	for _, r := range Results {
		if s[`mailwatch_roundtrip_last_result{result="`+r+`"}`] == 1 {
			return r
		}
	}
	return ""
}

func confvalDuration(d time.Duration) confval.Duration { return confval.Duration(d) }
