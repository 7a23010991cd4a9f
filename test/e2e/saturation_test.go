// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// saturationSection reads the harness Postfix (default instance) and Dovecot every 5 s.
const saturationSection = `  saturation:
    interval: 5s
    timeout: 4s
`

// quarantineSection treats the harness users' Maildirs, which the traffic delivers to, as a
// quarantine set: the real-stack check that Maildir folders are counted (the unit tests lay out
// amavis's and .Junk's shapes).
const quarantineSection = `  quarantine:
    interval: 30s
    timeout: 10s
    sets:
      - {name: harness_maildirs, paths: [/home/*/Maildir]}
`

// The saturation scenario (issue #18) on the real stack. test/harness/saturation.sh adds a
// postscreen on satPort handing clients to the pass service mwsat-smtpd with maxproc satLimit
// (why not smtp/inet: see the script); a burst of parallel connections, each reopened when
// Postfix closes it, holds more clients than processes. Then the processes gauge equals the limit
// and ps, master logs "has reached its process limit", master switches the service to stress
// mode, and PostfixServiceNearProcessLimit and PostfixStressMode reach the webhook. Dovecot:
// with IMAP connections held open, the imap-login figure equals ps's count.
//
// It changes the shared Postfix, so it does not run in parallel: the parallel tests of this
// binary start after it, with the services removed again (also when it fails).
const (
	satPort    = "2597"
	satLimit   = 3
	satService = "mwsat-smtpd/pass"
)

func TestSaturation(t *testing.T) {
	env := LoadEnv(t)
	if os.Geteuid() != 0 {
		t.Skip("changes the harness Postfix: needs root")
	}
	script := filepath.Join(env.HarnessDir, "saturation.sh")
	satScript := func(args ...string) {
		out, err := exec.Command(script, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("saturation.sh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	satScript("down") // what a killed earlier run left behind
	t.Cleanup(func() { satScript("down") })
	logStart := fileSize(t, env.MailLog)
	satScript("up", strconv.Itoa(satLimit))

	d := startScenario(t, env, "saturation", OnlyConfig(map[string]string{"saturation": saturationSection})+noLogs, nil)
	pf := map[string]string{"postfix_instance": "postfix", "service": satService}
	d.WaitMetrics(t, 30*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		return wantValues(mfs, map[string]float64{"mailwatch_postfix_service_process_limit": satLimit, "mailwatch_postfix_saturation_success": 1}, pf)
	})

	// The burst: twice as many clients as processes, each reconnecting when its session ends
	// (stress mode cuts idle clients off after 10 s), until the test is done.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 * satLimit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holdConnection(ctx, "127.0.0.1:"+satPort, nil)
		}()
	}
	defer func() { stop(); wg.Wait() }()

	d.WaitMetrics(t, 60*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		if err := wantValues(mfs, map[string]float64{"mailwatch_postfix_service_processes": satLimit, "mailwatch_postfix_stress_mode": 1}, pf); err != nil {
			return err
		}
		if n := psCount(t, "-n mwsat-smtpd -t pass "); n != satLimit {
			return fmt.Errorf("ps shows %d mwsat-smtpd processes, want the limit %d", n, satLimit)
		}
		return nil
	})
	if n := psCount(t, "-n mwsat-smtpd -t pass ", "-o stress=yes "); n == 0 {
		t.Errorf("the gauge says stress mode but ps shows no mwsat-smtpd with -o stress=yes")
	}
	for _, a := range []string{"PostfixServiceNearProcessLimit", "PostfixStressMode"} {
		env.WaitAlert(t, "firing", with(with(scenarioAlert(d, a), "service", satService), "postfix_instance", "postfix"), alertDeadline)
	}
	// master's own word for it; mailwatch_log_events_total{event="postfix_process_limit"} is
	// the log pipeline's, not this collector's.
	want := `service "mwsat-smtpd" (private/mwsat-smtpd) has reached its process limit "` + strconv.Itoa(satLimit) + `"`
	if err := Eventually(30*time.Second, func() error {
		if !strings.Contains(readFrom(t, env.MailLog, logStart), want) {
			return fmt.Errorf("%s has no line %q since the test started", env.MailLog, want)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	stop()
	wg.Wait()

	// Dovecot: IMAP connections held open, one imap-login process each (service_count = 1).
	const imapConns = 4
	ictx, istop := context.WithCancel(context.Background())
	var iwg sync.WaitGroup
	greeted := make(chan struct{}, imapConns)
	for range imapConns {
		iwg.Add(1)
		go func() {
			defer iwg.Done()
			holdConnection(ictx, "127.0.0.1:143", greeted)
		}()
	}
	defer func() { istop(); iwg.Wait() }()
	for range imapConns {
		select {
		case <-greeted:
		case <-time.After(30 * time.Second):
			t.Fatal("Dovecot did not greet the IMAP connections")
		}
	}
	limit := doveconfLimit(t, "imap-login")
	dc := map[string]string{"service": "imap-login"}
	var ps int
	d.WaitMetrics(t, 30*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		ps = psComm(t, "imap-login")
		if ps < imapConns {
			return fmt.Errorf("ps shows %d imap-login processes with %d connections held", ps, imapConns)
		}
		return wantValues(mfs, map[string]float64{"mailwatch_dovecot_service_processes": float64(ps), "mailwatch_dovecot_service_process_limit": limit, "mailwatch_dovecot_saturation_success": 1}, dc)
	})
	t.Logf("imap-login: %d processes (ps and gauge), limit %v", ps, limit)
}

// wantValues checks that each metric's series with the labels match has the value.
func wantValues(mfs map[string]*dto.MetricFamily, want map[string]float64, match map[string]string) error {
	for name, v := range want {
		m := match
		if strings.HasPrefix(name, "mailwatch_postfix_saturation_success") {
			m = map[string]string{"postfix_instance": match["postfix_instance"]}
		}
		if name == "mailwatch_dovecot_saturation_success" {
			m = nil
		}
		got, err := SampleValue(mfs, name, m)
		if err != nil {
			return err
		}
		if got != v {
			return fmt.Errorf("%s%v = %v, want %v", name, m, got, v)
		}
	}
	return nil
}

// holdConnection connects to addr, reads the greeting (signalling greeted once, if set) and
// then waits for the server to close; it connects again until ctx ends.
func holdConnection(ctx context.Context, addr string, greeted chan<- struct{}) {
	var dialer net.Dialer
	first := true
	for ctx.Err() == nil {
		c, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		done := make(chan struct{})
		go func() {
			select {
			case <-ctx.Done():
				c.Close()
			case <-done:
			}
		}()
		r := bufio.NewReader(c)
		if _, err := r.ReadString('\n'); err == nil && first && greeted != nil {
			greeted <- struct{}{}
			first = false
		}
		for {
			if _, err := r.ReadString('\n'); err != nil {
				break
			}
		}
		close(done)
		c.Close()
	}
}

// psCount counts the processes whose arguments, as ps prints them (whole, -ww), contain every
// one of substrs.
func psCount(t testing.TB, substrs ...string) int {
	t.Helper()
	out, err := exec.Command("ps", "-ww", "-eo", "args=").Output()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
lines:
	for _, l := range strings.Split(string(out), "\n") {
		for _, s := range substrs {
			if !strings.Contains(l+" ", s) {
				continue lines
			}
		}
		n++
	}
	return n
}

// psComm counts the processes named comm (ps -C), zombies left out.
func psComm(t testing.TB, comm string) int {
	t.Helper()
	out, _ := exec.Command("ps", "-C", comm, "-o", "stat=").Output() // exit 1 when there is none
	n := 0
	for _, l := range strings.Fields(string(out)) {
		if !strings.HasPrefix(l, "Z") {
			n++
		}
	}
	return n
}

// doveconfLimit is the process_limit Dovecot applies to service: its own, else
// default_process_limit.
func doveconfLimit(t testing.TB, service string) float64 {
	t.Helper()
	get := func(key string) float64 {
		out, err := exec.Command("doveconf", "-h", key).Output()
		if err != nil {
			t.Fatalf("doveconf -h %s: %v", key, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			t.Fatalf("doveconf -h %s: %q", key, out)
		}
		return v
	}
	if v := get("service/" + service + "/process_limit"); v != 0 {
		return v
	}
	return get("default_process_limit")
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// readFrom returns the file from offset on.
func readFrom(t testing.TB, path string, offset int64) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() < offset {
		offset = 0 // rotated meanwhile
	}
	b := make([]byte, st.Size()-offset)
	n, _ := f.ReadAt(b, offset)
	return string(b[:n])
}

// TestQuarantineMaildirs: a quarantine set of the harness users' Maildirs (the traffic delivers
// to them over LMTP) counts what a walk of their cur/ and new/ finds: messages, bytes and the
// oldest modification time.
func TestQuarantineMaildirs(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	d := StartDaemon(t, env, DaemonOptions{Config: OnlyConfig(map[string]string{"quarantine": quarantineSection}) + noLogs})
	q := map[string]string{"quarantine": "harness_maildirs"}
	d.WaitMetrics(t, 90*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		msgs, bytes, oldest, dirs := walkMaildirs(t, "/home/*/Maildir")
		if msgs == 0 {
			return fmt.Errorf("no message in /home/*/Maildir: has the traffic run?")
		}
		want := map[string]float64{
			"mailwatch_quarantine_messages":                         float64(msgs),
			"mailwatch_quarantine_bytes":                            float64(bytes),
			"mailwatch_quarantine_oldest_message_timestamp_seconds": float64(oldest.UnixNano()) / 1e9,
			"mailwatch_quarantine_directories":                      float64(dirs),
			"mailwatch_quarantine_scan_success":                     1,
		}
		for name, v := range want {
			got, err := SampleValue(mfs, name, q)
			if err != nil {
				return err
			}
			if got != v {
				return fmt.Errorf("%s = %v, the walk found %v", name, got, v)
			}
		}
		return nil
	})
}

// walkMaildirs counts the files of cur/ and new/ of every Maildir the glob matches.
func walkMaildirs(t testing.TB, glob string) (msgs int, bytes int64, oldest time.Time, dirs int) {
	t.Helper()
	roots, err := filepath.Glob(glob)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roots {
		if st, err := os.Stat(r); err != nil || !st.IsDir() {
			continue
		}
		dirs++
		for _, sub := range []string{"cur", "new"} {
			ents, _ := os.ReadDir(filepath.Join(r, sub))
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
					continue
				}
				fi, err := e.Info()
				if err != nil {
					continue
				}
				msgs++
				bytes += fi.Size()
				if oldest.IsZero() || fi.ModTime().Before(oldest) {
					oldest = fi.ModTime()
				}
			}
		}
	}
	return msgs, bytes, oldest, dirs
}
