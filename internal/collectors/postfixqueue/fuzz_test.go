// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParseShowq feeds arbitrary bytes to the showq parser (both formats).
// It must never panic or loop, and whatever it accepts must add up: the
// reason classes and the domain series each sum to the deferred
// recipients.
//
//	go test -run '^$' -fuzz FuzzParseShowq -fuzztime 30s ./pkg/collectors/postfixqueue/
func FuzzParseShowq(f *testing.F) {
	for _, name := range []string{"showq-3.7.bin", "showq-3.7-empty.bin", "showq-2.11.txt", "showq-2.11-empty.txt", "postqueue-p-3.7.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add(synthShowq(20))
	f.Add(synthText(20))
	opt := textOptions{Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Loc: time.UTC}
	f.Fuzz(func(t *testing.T, in []byte) {
		tl := newTally(true)
		if err := parseShowq(bytes.NewReader(in), tl, opt); err != nil {
			return
		}
		checkTally(t, tl)
	})
}

func checkTally(t *testing.T, tl *tally) {
	t.Helper()
	var reasons, domains int64
	for _, n := range tl.deferred {
		reasons += n
	}
	for _, d := range tl.topDomains(MaxTopDomains) {
		domains += d.Count
		if d.Domain != otherDomain && strings.ContainsFunc(d.Domain, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.')
		}) {
			t.Errorf("domain label %q has characters outside a host name", d.Domain)
		}
	}
	d := tl.queues[qDeferred].Recipients
	if reasons != d || domains != d {
		t.Errorf("deferred recipients %d, reason classes sum to %d, domains to %d", d, reasons, domains)
	}
	for q, s := range tl.queues {
		if s.Messages < 0 || s.Recipients < 0 || s.SizeBytes < 0 || s.Oldest < 0 {
			t.Errorf("queue %s: negative value %+v", queue(q), s)
		}
	}
}

// FuzzQueueFile reads arbitrary bytes as a queue file: damaged files must
// end the read (pointer loops included), never panic or hang.
func FuzzQueueFile(f *testing.F) {
	f.Add(simpleFile(1700000000, "a@b.example", "c@d.example"))
	f.Add((&qfWriter{}).rec('T', "1 0").rec('S', "").rec('p', ptr(0)).rec('p', ptr(1)).b) // pointer loop
	for _, p := range []string{"deferred/3/3F71CB879C", "hold/12964B8771"} {
		b, err := os.ReadFile(filepath.Join("testdata", "spool", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		path := filepath.Join(t.TempDir(), "Q")
		if err := os.WriteFile(path, in, 0o600); err != nil {
			t.Fatal(err)
		}
		var q queueFile
		info, err := q.read(path)
		if err != nil {
			return
		}
		if info.hasSize && info.size < 0 || info.hasArrival && info.arrival < 0 {
			t.Errorf("negative size or arrival: %+v", info)
		}
	})
}
