// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package roundtrip

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// A probe submitted through sendmail, signed and scanned by the MTA,
// arrives, passes its checks and is deleted; the mailbox's other messages
// stay as they were.
func TestProbeOK(t *testing.T) {
	t.Parallel()
	root := newMaildirRoot(t)
	key := newSigner(t)
	r, dnsSrv := dnsFor(t, key.record)
	mta, sendmail := startMTA(t, root)
	mta.set(func(m *fakeMTA) { m.sign, m.signDomain, m.spamHeader = &key, testDomain, "X-Spamd-Result" })
	// A message that is not a probe, in new/ and in cur/.
	writeMaildir(t, root, "1.other", []byte("From: a@example.org\nSubject: hello\n\nbody\n"))
	if err := os.WriteFile(filepath.Join(root, "cur", "2.other:2,S"), []byte("Subject: seen\n\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newTestCollector(t, baseConfig(sendmail, root), r)
	for i := 1; i <= 2; i++ {
		s, err := runProbe(t, c, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := lastResult(s); got != ResultOK {
			t.Fatalf("run %d: last result %q, want ok; samples %v", i, got, s)
		}
		if v := s[`mailwatch_roundtrip_probes_total{result="ok"}`]; v != float64(i) {
			t.Errorf("run %d: probes_total{ok} = %v", i, v)
		}
		if s["mailwatch_roundtrip_last_latency_seconds{}"] <= 0 || s["mailwatch_roundtrip_last_success_timestamp_seconds{}"] < float64(time.Now().Add(-time.Minute).Unix()) {
			t.Errorf("run %d: latency or last success missing: %v", i, s)
		}
	}
	if n := histogramCount(t, c); n != 2 {
		t.Errorf("latency histogram holds %d probes, want 2", n)
	}
	if got, want := files(t, root), []string{"new/1.other", "cur/2.other:2,S"}; !slices.Equal(got, want) {
		t.Errorf("Maildir holds %v after the probes, want only %v", got, want)
	}
	args, err := os.ReadFile(filepath.Join(mta.spool, "args"))
	if err != nil {
		t.Fatal(err)
	}
	if string(args) != "-t\n-i\n-f\nprobe@example.org\n" {
		t.Errorf("sendmail arguments %q", args)
	}
	if dnsSrv.Count(testSelector+"._domainkey."+testDomain+".", dns.TypeTXT) == 0 {
		t.Error("the DKIM key was not asked of the loopback DNS server")
	}
}

// A probe that a reader moved from new/ to cur/ before the probe saw it is
// still found and deleted.
func TestProbeMovedToCur(t *testing.T) {
	t.Parallel()
	root := newMaildirRoot(t)
	mta, sendmail := startMTA(t, root)
	mta.set(func(m *fakeMTA) {
		m.deliver = func(msg []byte) {
			if err := os.WriteFile(filepath.Join(root, "cur", "3.probe:2,S"), msg, 0o600); err != nil {
				t.Error(err)
			}
		}
	})
	cfg := baseConfig(sendmail, root)
	cfg.DKIMDomain, cfg.SpamHeader = "", ""
	c := newTestCollector(t, cfg, nil)
	s, err := runProbe(t, c, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := lastResult(s); got != ResultOK {
		t.Fatalf("last result %q, want ok", got)
	}
	if got := files(t, root); len(got) != 0 {
		t.Errorf("left %v", got)
	}
}

// The copy's checks: an unsigned copy, a signature of another domain, a
// signature the published key does not verify, no key published, and a
// copy without the spam header each fail with their result, and the probe
// is deleted all the same.
func TestProbeChecksFail(t *testing.T) {
	t.Parallel()
	key, other := newSigner(t), newSigner(t)
	for _, tc := range []struct {
		name   string
		record string
		sign   *signer
		domain string
		spam   string
		want   string
	}{
		{"unsigned", key.record, nil, "", "X-Spamd-Result", ResultDKIMFail},
		{"other domain", key.record, &key, "example.net", "X-Spamd-Result", ResultDKIMFail},
		{"wrong key", other.record, &key, testDomain, "X-Spamd-Result", ResultDKIMFail},
		{"no key record", "", &key, testDomain, "X-Spamd-Result", ResultDKIMFail},
		{"no spam header", key.record, &key, testDomain, "", ResultSpamHeaderMissing},
		{"other spam header", key.record, &key, testDomain, "X-Spam-Status", ResultSpamHeaderMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := newMaildirRoot(t)
			r, _ := dnsFor(t, tc.record)
			mta, sendmail := startMTA(t, root)
			mta.set(func(m *fakeMTA) { m.sign, m.signDomain, m.spamHeader = tc.sign, tc.domain, tc.spam })
			c := newTestCollector(t, baseConfig(sendmail, root), r)
			s, err := runProbe(t, c, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got := lastResult(s); got != tc.want {
				t.Errorf("last result %q, want %q", got, tc.want)
			}
			if s[`mailwatch_roundtrip_probes_total{result="`+tc.want+`"}`] != 1 || s[`mailwatch_roundtrip_probes_total{result="ok"}`] != 0 {
				t.Errorf("counters: %v", s)
			}
			if _, ok := s["mailwatch_roundtrip_last_success_timestamp_seconds{}"]; ok {
				t.Error("a failed probe set the last success")
			}
			if s["mailwatch_roundtrip_last_latency_seconds{}"] <= 0 {
				t.Error("the probe arrived: its latency is known")
			}
			if got := files(t, root); len(got) != 0 {
				t.Errorf("the probe was not deleted: %v", got)
			}
		})
	}
}

// A probe that does not arrive in time is a timeout; when it arrives
// later, the next run deletes it as a straggler (and so one that a crash
// left), leaves another host's probe and a probe of this host younger than
// a run alone, and succeeds.
func TestProbeTimeoutThenStraggler(t *testing.T) {
	t.Parallel()
	root := newMaildirRoot(t)
	mta, sendmail := startMTA(t, root)
	mta.set(func(m *fakeMTA) { m.hold = true })
	cfg := baseConfig(sendmail, root)
	cfg.DKIMDomain, cfg.SpamHeader = "", ""
	cfg.DeliveryTimeout = confval.Duration(300 * time.Millisecond)
	c := newTestCollector(t, cfg, nil)
	start := time.Now()
	s, err := runProbe(t, c, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := lastResult(s); got != ResultTimeout {
		t.Fatalf("last result %q, want timeout", got)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a lost probe took %s to be called lost, delivery_timeout is 300ms", d)
	}
	if n := histogramCount(t, c); n != 0 {
		t.Errorf("a lost probe was observed in the latency histogram (%d)", n)
	}
	// It arrives late; a leftover of a crash and another host's probe are
	// there too, and a probe of this host that another daemon has just
	// sent. The next run is a minute later: the late probe is older than
	// the run's timeout (10s) by then.
	mta.release()
	later := time.Now().Add(time.Minute)
	c.now = func() time.Time { return time.Now().Add(time.Minute) }
	leftover := probeMessage("probe@example.org", "box@example.org", testHost, "0123456789abcdef01234567", later.Add(-time.Hour))
	writeMaildir(t, root, "9.crash", leftover)
	foreign := probeMessage("probe@example.org", "box@example.org", "mx10.example.org", "89abcdef0123456701234567", later.Add(-time.Hour))
	writeMaildir(t, root, "9.foreign", foreign)
	young := probeMessage("probe@example.org", "box@example.org", testHost, "fedcba9876543210fedcba98", later.Add(-2*time.Second))
	writeMaildir(t, root, "9.young", young)
	collectortest.Eventually(t, "the late probe delivered", func() bool { return len(files(t, root)) == 4 })

	s, err = runProbe(t, c, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := lastResult(s); got != ResultOK {
		t.Fatalf("after the stragglers: last result %q, want ok", got)
	}
	if v := s["mailwatch_roundtrip_stragglers_removed_total{}"]; v != 2 {
		t.Errorf("stragglers_removed_total = %v, want 2 (the late probe and the leftover)", v)
	}
	if got := files(t, root); !slices.Equal(got, []string{"new/9.foreign", "new/9.young"}) {
		t.Errorf("Maildir holds %v, want only the other host's probe and the one in flight", got)
	}
	if s[`mailwatch_roundtrip_probes_total{result="timeout"}`] != 1 || s[`mailwatch_roundtrip_probes_total{result="ok"}`] != 1 {
		t.Errorf("counters: %v", s)
	}
}

// A sendmail that fails, and one that hangs: submit_error, the hung one
// killed at delivery_timeout, well within the run's deadline.
func TestProbeSubmitError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root := newMaildirRoot(t)
	failing := filepath.Join(dir, "failing")
	hung := filepath.Join(dir, "hung")
	if err := collectortest.WriteExecutable(failing, []byte("#!/bin/sh\ncat >/dev/null\necho 'sendmail: fatal: User probe(1000): No such file or directory' >&2\nexit 75\n")); err != nil {
		t.Fatal(err)
	}
	if err := collectortest.WriteExecutable(hung, []byte("#!/bin/sh\nexec sleep 600\n")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, errText string }{
		{failing, "exit status 75: sendmail: fatal"},
		{hung, "context deadline exceeded"},
	} {
		cfg := baseConfig(tc.path, root)
		cfg.DeliveryTimeout = confval.Duration(500 * time.Millisecond)
		c := newTestCollector(t, cfg, nil)
		core, logs := observer.New(zap.WarnLevel)
		c.logger = zap.New(core)
		start := time.Now()
		s, err := runProbe(t, c, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := lastResult(s); got != ResultSubmitError {
			t.Errorf("%s: last result %q, want submit_error", filepath.Base(tc.path), got)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: the run took %s", filepath.Base(tc.path), d)
		}
		logged := ""
		for _, e := range logs.All() {
			logged += e.Message + fmt.Sprint(e.ContextMap()) + "\n"
		}
		if !strings.Contains(logged, tc.errText) {
			t.Errorf("%s: log %q does not say %q", filepath.Base(tc.path), logged, tc.errText)
		}
	}
}

// An unreadable or missing Maildir is a mailbox_error, found before
// anything is sent.
func TestProbeMailboxError(t *testing.T) {
	t.Parallel()
	root := newMaildirRoot(t)
	_, sendmail := startMTA(t, root)
	c := newTestCollector(t, baseConfig(sendmail, filepath.Join(t.TempDir(), "missing")), nil)
	s, err := runProbe(t, c, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := lastResult(s); got != ResultMailboxError {
		t.Errorf("last result %q, want mailbox_error", got)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(sendmail), "spool", "args")); err == nil {
		t.Error("a probe was sent although its mailbox cannot be read")
	}
}

// A Maildir with more than max_messages messages is refused rather than
// read.
func TestProbeMaxMessages(t *testing.T) {
	t.Parallel()
	root := newMaildirRoot(t)
	_, sendmail := startMTA(t, root)
	for i := range 3 {
		writeMaildir(t, root, "m"+string(rune('a'+i)), []byte("Subject: x\n\ny\n"))
	}
	cfg := baseConfig(sendmail, root)
	cfg.Mailbox.MaxMessages = 2
	c := newTestCollector(t, cfg, nil)
	s, err := runProbe(t, c, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := lastResult(s); got != ResultMailboxError {
		t.Errorf("last result %q, want mailbox_error", got)
	}
	if len(files(t, root)) != 3 {
		t.Error("messages were touched")
	}
}

// Before the first probe the counters are 0 and no last_* series exists.
func TestGolden(t *testing.T) {
	t.Parallel()
	c := newTestCollector(t, baseConfig("/bin/false", "/nonexistent"), nil)
	ch := make(chan prometheus.Metric, 64)
	c.emit(ch)
	close(ch)
	var names []string
	for m := range ch {
		k, _ := collectortest.Sample(m)
		names = append(names, k)
	}
	for _, n := range names {
		if strings.Contains(n, "last_") {
			t.Errorf("%s before any probe", n)
		}
	}
	collectortest.Lint(t, c)
}
