// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// The round-trip probe on the real stack (issue #19): the daemon, as the unprivileged monitor
// user (group postdrop for sendmail, the probe Maildir's group), submits probes with Postfix's
// sendmail; OpenDKIM signs them for the harness domain, Rspamd adds X-Spamd-Result, Dovecot's
// LMTP delivers them to the probe user's Maildir. Then Dovecot stops: the probes fail within their
// timeout; it starts again, the queue is flushed, the late probes are deleted as stragglers and
// the probe succeeds again. Last, `mailwatchd check` probes once over IMAP (Dovecot's IMAPS, real
// UIDPLUS), once with SMTP submission on 465, once expecting another DKIM domain (a failure), and
// neither the Maildir nor the Postfix queue holds a probe at the end.
//
// Not parallel: it stops Dovecot (see TestDovecotDown); Go runs it before the parallel tests.
func TestRoundTrip(t *testing.T) {
	env := LoadEnv(t)
	probeUser, probeHome := env.Var("MWH_PROBE_USER"), env.Var("MWH_PROBE_HOME")
	if probeUser == "" || probeHome == "" {
		t.Fatal("MWH_PROBE_USER and MWH_PROBE_HOME are not set: is test/harness/env.sh current?")
	}
	maildir := filepath.Join(probeHome, "Maildir")
	const interval, timeout = 10 * time.Second, 8 * time.Second
	d := StartDaemon(t, env, DaemonOptions{User: env.MonitorUser, Config: OnlyConfig(map[string]string{"roundtrip": roundTripSection}),
		ReadyTimeout: 30 * time.Second})

	// 1. A probe succeeds: delivered, DKIM-signed by example.test, scanned by Rspamd, deleted.
	mfs := d.WaitMetrics(t, 30*time.Second, roundTripResult("ok", 1))
	if lat, err := SampleValue(mfs, "mailwatch_roundtrip_last_latency_seconds", nil); err != nil || lat <= 0 || lat > 5 {
		t.Errorf("last latency %v (%v), want a delivery within the delivery timeout", lat, err)
	}
	if v, _ := SampleValue(mfs, "mailwatch_collector_success", map[string]string{"collector": "roundtrip"}); v != 1 {
		t.Errorf("collector_success{roundtrip} = %v", v)
	}

	// 2. Dovecot (and so its LMTP) stops: the next probe is deferred by Postfix and counted as a
	// timeout, within the run's own timeout.
	restart := env.StopService(t, "dovecot")
	stopped := time.Now()
	mfs = d.WaitMetrics(t, interval+2*timeout+10*time.Second, roundTripResult("timeout", 1))
	end, _ := SampleValue(mfs, "mailwatch_roundtrip_last_probe_timestamp_seconds", nil)
	if took := time.Unix(0, int64(end*1e9)).Sub(stopped); took > interval+timeout+2*time.Second {
		t.Errorf("the first timeout ended %s after Dovecot stopped; interval + timeout is %s", took, interval+timeout)
	} else {
		t.Logf("Dovecot stopped: a probe timed out %s later", took.Round(100*time.Millisecond))
	}
	if n := probesInQueue(t); n == 0 {
		t.Error("no probe deferred in the Postfix queue while Dovecot is down")
	}

	// 3. Dovecot again, the deferred probes delivered at once: the next runs delete them as
	// stragglers, and probes succeed again.
	restart()
	if out, err := exec.Command("postqueue", "-f").CombinedOutput(); err != nil {
		t.Fatalf("postqueue -f: %v: %s", err, out)
	}
	d.WaitMetrics(t, 90*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		timeouts, _ := SampleValue(mfs, "mailwatch_roundtrip_probes_total", map[string]string{"result": "timeout"})
		stragglers, _ := SampleValue(mfs, "mailwatch_roundtrip_stragglers_removed_total", nil)
		if stragglers < timeouts {
			return fmt.Errorf("%v stragglers removed of %v timed-out probes", stragglers, timeouts)
		}
		return roundTripResult("ok", 1)(mfs)
	})
	for _, name := range []string{"mailwatch_roundtrip_probes_total", "mailwatch_roundtrip_stragglers_removed_total", "mailwatch_roundtrip_last_latency_seconds"} {
		t.Logf("%s: %v", name, Samples(d.Metrics(t), name))
	}
	d.Stop(t)
	stoppedAt := time.Now()

	// 4. One probe over IMAP by `mailwatchd check` (root, so a probe the stopped daemon left in
	// flight is delivered first and then found as a straggler).
	waitNoProbeQueued(t, 30*time.Second)
	// A probe is a straggler once older than a run's timeout; one the daemon sent just before it
	// stopped becomes one here.
	time.Sleep(time.Until(stoppedAt.Add(timeout + time.Second)))
	pw := filepath.Join(t.TempDir(), "imap-password")
	if err := os.WriteFile(pw, []byte(probeUser+"-Harness-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := WriteConfig(t, env, OnlyConfig(map[string]string{"roundtrip": roundTripIMAPSection}), map[string]string{"PasswordFile": pw})
	res := Check(t, env, cfg)
	if r, ok := res.Row("roundtrip", "mail round trip"); !ok || r.Status != "OK" || !strings.HasPrefix(r.Value, "delivered in ") {
		t.Errorf("check over IMAP: row %v (found %v), want OK delivered\n%s\nstderr: %s", r, ok, res.Table(), res.Stderr)
	} else {
		t.Logf("check over IMAP: %v", r)
	}

	// Submission on 465 (implicit TLS, SASL through Dovecot) instead of sendmail: OpenDKIM signs
	// it as ORIGINATING mail.
	res = Check(t, env, WriteConfig(t, env, OnlyConfig(map[string]string{"roundtrip": roundTripSMTPSection}), map[string]string{"PasswordFile": pw}))
	if r, ok := res.Row("roundtrip", "mail round trip"); !ok || r.Status != "OK" || !strings.HasPrefix(r.Value, "delivered in ") {
		t.Errorf("check with SMTP submission: row %v (found %v), want OK delivered\n%s\nstderr: %s", r, ok, res.Table(), res.Stderr)
	} else {
		t.Logf("check with SMTP submission: %v", r)
	}

	// The DKIM check is no formality: a copy signed by example.test fails it for another domain.
	other := strings.Replace(roundTripSection, "dkim_domain: {{.Env.Domain}}", "dkim_domain: other.{{.Env.Domain}}", 1)
	res = Check(t, env, WriteConfig(t, env, OnlyConfig(map[string]string{"roundtrip": other}), nil))
	if r, ok := res.Row("roundtrip", "mail round trip"); !ok || r.Status != "WARN" || !strings.Contains(r.Value, "WITHOUT A VALID DKIM SIGNATURE") {
		t.Errorf("check with dkim_domain other.%s: row %v (found %v), want WARN without a valid DKIM signature", env.Domain, r, ok)
	} else {
		t.Logf("with another dkim_domain: %v", r)
	}

	// 5. Nothing left behind.
	if files := maildirFiles(t, maildir); len(files) != 0 {
		t.Errorf("the probe Maildir still holds %v", files)
	}
	if n := probesInQueue(t); n != 0 {
		t.Errorf("%d probes still in the Postfix queue", n)
	}
}

// roundTripResult waits for last_result{result} == 1 with at least n probes of that result.
func roundTripResult(result string, n float64) func(map[string]*dto.MetricFamily) error {
	return func(mfs map[string]*dto.MetricFamily) error {
		last, err := SampleValue(mfs, "mailwatch_roundtrip_last_result", map[string]string{"result": result})
		if err != nil || last != 1 {
			var now []string
			for _, s := range Samples(mfs, "mailwatch_roundtrip_last_result") {
				if s.Value == 1 {
					now = append(now, s.Labels["result"])
				}
			}
			return fmt.Errorf("last result %v, want %s", now, result)
		}
		if c, _ := SampleValue(mfs, "mailwatch_roundtrip_probes_total", map[string]string{"result": result}); c < n {
			return fmt.Errorf("%v probes with result %s, want %v", c, result, n)
		}
		return nil
	}
}

// probesInQueue counts the messages of the probe's sender in the Postfix queue (postqueue -j);
// the traffic's deferred and held messages are someone else's.
func probesInQueue(t testing.TB) int {
	t.Helper()
	out, err := exec.Command("postqueue", "-j").Output()
	if err != nil {
		t.Fatalf("postqueue -j: %v", err)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m struct {
			Sender string `json:"sender"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("postqueue -j: %v", err)
		}
		if strings.HasPrefix(m.Sender, "mailwatchd-probe@") {
			n++
		}
	}
	return n
}

func waitNoProbeQueued(t testing.TB, timeout time.Duration) {
	t.Helper()
	if err := Eventually(timeout, func() error {
		if n := probesInQueue(t); n > 0 {
			_ = exec.Command("postqueue", "-f").Run()
			return fmt.Errorf("%d probes queued", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// maildirFiles lists new/ and cur/.
func maildirFiles(t testing.TB, root string) []string {
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
