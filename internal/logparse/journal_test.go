// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// TestMain lets the test binary play journalctl: with
// LOGPARSE_FAKE_JOURNALCTL=dir it appends its arguments to dir/args, prints
// dir/entries, then either exits with dir/exit's content on stderr or waits
// to be killed, as `journalctl --follow` does.
func TestMain(m *testing.M) {
	if dir := os.Getenv("LOGPARSE_FAKE_JOURNALCTL"); dir != "" {
		fakeJournalctl(dir)
		return
	}
	if os.Getenv(tortureChildEnv) != "" {
		os.Exit(tortureChild())
	}
	os.Exit(m.Run())
}

func fakeJournalctl(dir string) {
	f, _ := os.OpenFile(filepath.Join(dir, "args"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	fmt.Fprintln(f, strings.Join(os.Args[1:], " "))
	f.Close()
	entries, _ := os.ReadFile(filepath.Join(dir, "entries"))
	os.Stdout.Write(entries)
	if msg, err := os.ReadFile(filepath.Join(dir, "exit")); err == nil {
		os.Stderr.Write(msg)
		os.Exit(1)
	}
	select {} // follow until killed
}

func journalConfig(start string, units, ids []string) Config {
	c := Config{StartAt: start, Sources: []SourceConfig{{Name: "journal", Type: SourceJournal, Units: units, Identifiers: ids}}}
	c.ApplyDefaults()
	return c
}

func TestJournalFake(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o700)
	entries, err := os.ReadFile("testdata/corpus/journal.log")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "entries"), entries, 0o600)
	t.Setenv("LOGPARSE_FAKE_JOURNALCTL", dir)
	n := uint64(bytes.Count(entries, []byte{'\n'}))

	clock := &watchClock{}
	run := func() (*Pipeline, func()) {
		p, err := New(journalConfig(StartBegin, nil, []string{"postfix/smtpd"}), state, zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		p.journalctl = os.Args[0]
		p.clock = clock
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		return p, func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	p, stop := run()
	src := p.counters.source("journal")
	clock.waitFor(t, patience, "every journal entry", func() bool { return src.lines.Load() == n })
	if got := p.counters.events[maillog.EvSASLAuthFailure].Load(); got != 3 {
		t.Errorf("sasl_auth_failure = %d, want 3", got)
	}
	stop()

	// The cursor of the last entry was saved; a restart continues after it
	// (our fake prints the same entries again, which a real journalctl
	// would not: the count tells that the cursor was passed on).
	lastCursor := lastJournalCursor(t, entries)
	b, _ := os.ReadFile(filepath.Join(state, stateFileName))
	var st stateFile
	json.Unmarshal(b, &st)
	if got := st.Sources["journal"].Cursor; got != lastCursor {
		t.Fatalf("saved cursor %q, want %q", got, lastCursor)
	}
	p, stop = run()
	clock.waitFor(t, patience, "the restarted source", func() bool { return p.counters.source("journal").lines.Load() == 2*n })
	stop()
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	calls := strings.Split(strings.TrimSpace(string(args)), "\n")
	if len(calls) != 2 || !strings.Contains(calls[1], "--after-cursor="+lastCursor) ||
		!strings.HasSuffix(calls[0], "SYSLOG_IDENTIFIER=postfix/smtpd") {
		t.Errorf("journalctl calls:\n%s", args)
	}
}

// TestJournalctlExits: a journalctl that fails is counted as a read error
// and restarted after a backoff that doubles.
func TestJournalctlExits(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "entries"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "exit"), []byte("Failed to open journal: Permission denied"), 0o600)
	t.Setenv("LOGPARSE_FAKE_JOURNALCTL", dir)
	p, err := New(journalConfig(StartEnd, []string{"postfix@-.service"}, nil), "", zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	p.journalctl = os.Args[0]
	clock := newStepClock()
	p.clock = clock
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	src := p.counters.source("journal")
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		select {
		case got := <-clock.stepped: // journalctl failed; the source waits before restarting it
			if got != want {
				t.Errorf("backoff %d: %v, want %v", i, got, want)
			}
		case <-time.After(stepTimeout):
			t.Fatal("journalctl not restarted")
		}
		if got := src.ReadErrors.Load(); got != uint64(i+1) {
			t.Errorf("read errors after %d failures: %d", i+1, got)
		}
		clock.step <- struct{}{}
	}
}

func lastJournalCursor(t *testing.T, entries []byte) string {
	t.Helper()
	var last string
	sc := bufio.NewScanner(bytes.NewReader(entries))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			Cursor string `json:"__CURSOR"`
		}
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Cursor != "" {
			last = r.Cursor
		}
	}
	return last
}

// TestJournalReal runs against the systemd-journald of the machine, when
// there is one (standalone is enough: /lib/systemd/systemd-journald).
func TestJournalReal(t *testing.T) {
	// A journald must really be listening: a socket file left by one that
	// is gone (or one without its stdout stream socket) cannot be used.
	for _, sock := range []string{"/run/systemd/journal/socket", "/run/systemd/journal/stdout"} {
		network := "unixgram"
		if strings.HasSuffix(sock, "stdout") {
			network = "unix"
		}
		c, err := net.Dial(network, sock)
		if err != nil {
			t.Skipf("no running systemd-journald (%s: %v)", sock, err)
		}
		c.Close()
	}
	for _, tool := range []string{"journalctl", "systemd-cat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	// A tag of our own keeps other entries out; it is still Postfix's
	// multi-instance syntax, so the lines classify as Postfix's.
	tag := fmt.Sprintf("postfix-t%d/submission/smtpd", time.Now().UnixNano())
	send := func(n int) {
		t.Helper()
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "warning: unknown[192.0.2.%d]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n", i%250+1)
		}
		cmd := exec.Command("systemd-cat", "-t", tag)
		cmd.Stdin = strings.NewReader(b.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("systemd-cat: %v: %s", err, out)
		}
	}
	state := t.TempDir()
	clock := &watchClock{}
	run := func() (*Pipeline, func()) {
		p, err := New(journalConfig(StartEnd, nil, []string{tag}), state, zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		p.clock = clock
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		return p, func() { cancel(); <-done }
	}
	send(3) // before the first start: start_at end skips them
	p, stop := run()
	send(50)
	clock.waitFor(t, patience, "50 journal entries", func() bool { return p.counters.events[maillog.EvSASLAuthFailure].Load() == 50 })
	stop()
	send(20) // while we are down
	p, stop = run()
	defer stop()
	clock.waitFor(t, patience, "70 journal entries", func() bool { return p.counters.events[maillog.EvSASLAuthFailure].Load() == 70 })
	if got := p.counters.source("journal").lines.Load(); got != 70 {
		t.Errorf("lines = %d, want 70", got)
	}
}
