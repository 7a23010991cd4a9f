// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Alert fidelity of the log-based alerts (issue #11): a SASL brute force against the real
// Postfix raises MailAuthFailureSpike, and a log source whose newest line is two hours old while
// Postfix runs raises MailLogSilent. As in alerts_test.go, each scenario runs its own daemon and
// looks only at alerts of its own instance, so both run in parallel with every other test.

// The brute force: one failed SMTP AUTH LOGIN per address on the submission port (587, STARTTLS),
// from bruteForceAddrs loopback addresses that no other traffic uses (traffic.sh uses 127.0.0.x,
// 127.0.1.x, 127.0.2.x, 127.0.5.x and 127.0.6.x). One failure per address keeps every address far below fail2ban's
// maxretry (5) in postfix-sasl and in the dovecot jail (which also sees Dovecot's auth-worker line
// of each failure), so nothing gets banned and the stack stays as it was. The shipped rule fires
// above 0.2 failures/s over 5 minutes, i.e. more than 60 failures inside the window: 90 give a
// margin for an attempt that does not get through. Dovecot delays every failed authentication
// (about 4 s per attempt here), so the attempts run bruteForceParallel at a time: about 30 s.
const (
	bruteForceNet      = "127.0.3."
	bruteForceAddrs    = 90
	bruteForceMinFails = 75 // counted failures needed: well above the 60 the threshold means
	bruteForceParallel = 12
	// bruteForceTries bounds the connections per address (below fail2ban's maxretry even if each
	// got as far as AUTH). An address stops at its first refusal at AUTH (swaks exit status 28);
	// a connection that ends otherwise (Postfix throttling its submission service while another
	// test has Dovecot stopped, a reload) is retried after bruteForceRetryWait. So there are
	// bruteForceAddrs refused AUTH attempts at most, and normally exactly that many connections.
	bruteForceTries     = 4
	bruteForceRetryWait = 15 * time.Second
	swaksAuthFailed     = 28 // swaks: "error in AUTH transaction"
)

// logsFollowing is a logs: section that follows one file as source "mail" from its end (the
// default for a file seen for the first time), as a freshly installed daemon follows
// /var/log/mail.log. Vars: LogFile.
const logsFollowing = `logs:
  start_at: end
  poll_interval: 250ms
  sources:
    - {name: mail, paths: ["{{.Vars.LogFile}}"]}
`

// postfixLog is the file Postfix logs to on the harness: the syslog mail.log, or its own
// maillog_file with MWH_LOG_MODE=file.
func postfixLog(env *Env) string {
	if env.LogMode == "file" {
		return getenv("MWH_POSTFIX_LOG", "/var/log/postfix.log")
	}
	return env.MailLog
}

// unusedAddr is a free loopback address that no notification the webhook receiver ever got names
// as its instance. Alerts that sum away the target's labels (MailAuthFailureSpike keeps only
// instance and job) cannot be told apart from an earlier run's by mwh_run; a fresh address can.
func unusedAddr(t *testing.T, env *Env) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ns, err := env.Notifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, n := range ns {
		for _, a := range n.Alerts {
			used[a.Labels["instance"]] = true
		}
	}
	for range 50 {
		if a := FreeAddr(t); !used[a] {
			return a
		}
	}
	t.Fatalf("no free port on 127.0.0.1 that the webhook has not seen among %d notifications", len(ns))
	return ""
}

// A SASL brute force against Postfix's submission port: MailAuthFailureSpike with the shipped
// expression and threshold, for a daemon that follows the real mail log from its end.
func TestAlertAuthFailureSpike(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Skip("swaks not installed (test/harness/install.sh installs it)")
	}
	addr := unusedAddr(t, env)
	cfg := OnlyConfig(nil) + logsFollowing
	d := startScenarioWith(t, env, "sasl_bruteforce", DaemonOptions{Config: cfg, Vars: map[string]string{"LogFile": postfixLog(env)}, Addr: addr})
	prom := env.Prometheus()
	sasl := map[string]string{"event": "sasl_auth_failure"}
	// Prometheus holds the counter before the attack, so that rate() sees all of it.
	q := fmt.Sprintf(`mailwatch_log_events_total{event="sasl_auth_failure",instance=%q,mwh_run=%q}`, d.Addr, runID)
	prom.WaitQuery(t, q, 30*time.Second, func(res []Sample) error {
		if len(res) != 1 {
			return fmt.Errorf("%s = %v", q, res)
		}
		return nil
	})
	before, err := SampleValue(d.Metrics(t), "mailwatch_log_events_total", sasl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unbanBruteForce(t, env) })

	start := time.Now()
	fails, other := bruteForce(t, env)
	t.Logf("brute force: %d failed AUTH attempts from %d addresses in %v; other swaks outcomes: %v",
		fails, bruteForceAddrs, time.Since(start).Round(time.Second), other)
	if fails < bruteForceMinFails {
		t.Fatalf("only %d of %d addresses got to fail SMTP AUTH (need %d); other outcomes %v", fails, bruteForceAddrs, bruteForceMinFails, other)
	}
	// mailwatchd counted every one of them (other tests may add more failures).
	d.WaitMetrics(t, 15*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		v, err := SampleValue(mfs, "mailwatch_log_events_total", sasl)
		if err != nil {
			return err
		}
		if v-before < float64(fails) {
			return fmt.Errorf("mailwatch_log_events_total{event=\"sasl_auth_failure\"} rose by %g, want >= %d", v-before, fails)
		}
		return nil
	})

	// The shipped rule sums by (instance, job): the alert has no mwh_run, the address is fresh.
	m := map[string]string{"alertname": "MailAuthFailureSpike", "instance": d.Addr, "job": "mailwatchd", "severity": "warning"}
	env.WaitAlert(t, "firing", m, alertDeadline)

	// Nothing was banned: every address stayed below fail2ban's maxretry.
	if banned := bannedBruteForce(t, env); len(banned) > 0 {
		t.Errorf("fail2ban banned brute-force addresses (at most one failure each): %v", banned)
	}
}

// bruteForce makes one failed SMTP AUTH attempt from each of the bruteForceAddrs addresses and
// returns how many were refused at AUTH, and the other swaks exit statuses seen (connections that
// did not get to AUTH, retried up to bruteForceTries times).
func bruteForce(t *testing.T, env *Env) (fails int, other map[string]int) {
	t.Helper()
	port := getenv("MWH_SUBMISSION_PORT", "587")
	var mu sync.Mutex
	other = map[string]int{}
	addrs := make(chan string)
	var wg sync.WaitGroup
	for range bruteForceParallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for src := range addrs {
				for try := 1; try <= bruteForceTries; try++ {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					cmd := exec.CommandContext(ctx, "swaks", "--server", "127.0.0.1", "--port", port, "--timeout", "20",
						"--hide-all", "-li", src, "-tls", "-a", "LOGIN", "-au", "admin", "-ap", "guess-"+src,
						"--helo", "bot.attack.test", "-f", "x@attack.test", "-t", "x@"+env.Domain, "--quit-after", "AUTH")
					err := cmd.Run()
					cancel()
					status := "0"
					var ee *exec.ExitError
					if errors.As(err, &ee) {
						status = fmt.Sprint(ee.ExitCode())
					} else if err != nil {
						status = err.Error()
					}
					mu.Lock()
					if status == fmt.Sprint(swaksAuthFailed) {
						fails++
					} else {
						other[status]++
					}
					mu.Unlock()
					if status == fmt.Sprint(swaksAuthFailed) || status == "0" {
						break // refused at AUTH (or, impossibly, accepted): one attempt, done
					}
					time.Sleep(bruteForceRetryWait)
				}
			}
		}()
	}
	for i := 1; i <= bruteForceAddrs; i++ {
		addrs <- fmt.Sprintf("%s%d", bruteForceNet, i)
	}
	close(addrs)
	wg.Wait()
	if other["0"] > 0 {
		t.Errorf("%d SMTP AUTH attempts with a guessed password succeeded", other["0"])
	}
	return fails, other
}

// bannedBruteForce lists the brute-force addresses fail2ban has banned, by jail.
func bannedBruteForce(t *testing.T, env *Env) []string {
	t.Helper()
	out, err := exec.Command("fail2ban-client", "-c", filepath.Join(env.Var("MWH_ETC"), "fail2ban"), "banned").CombinedOutput()
	if err != nil {
		t.Errorf("fail2ban-client banned: %v\n%s", err, out)
		return nil
	}
	// [{'postfix': []}, {'dovecot': ['127.0.0.66']}, ...]
	var banned []string
	for _, jail := range strings.Split(string(out), "{")[1:] {
		name, list, _ := strings.Cut(jail, ":")
		for _, a := range strings.FieldsFunc(list, func(r rune) bool { return strings.ContainsRune("[]'\", }\n", r) }) {
			if strings.HasPrefix(a, bruteForceNet) {
				banned = append(banned, strings.Trim(name, "' ")+":"+a)
			}
		}
	}
	sort.Strings(banned)
	return banned
}

// unbanBruteForce lifts any ban of a brute-force address, so that a failed run leaves the shared
// stack as it found it.
func unbanBruteForce(t *testing.T, env *Env) {
	for _, jb := range bannedBruteForce(t, env) {
		jail, a, _ := strings.Cut(jb, ":")
		if out, err := exec.Command("fail2ban-client", "-c", filepath.Join(env.Var("MWH_ETC"), "fail2ban"),
			"set", jail, "unbanip", a).CombinedOutput(); err != nil {
			t.Errorf("fail2ban-client set %s unbanip %s: %v\n%s", jail, a, err, out)
		}
	}
}

// silentAge is how old the newest line of the silent log is: past MailLogSilent's hour.
const silentAge = 2 * time.Hour

// A log source whose newest line is two hours old while Postfix runs: MailLogSilent. The source
// is a file of real Postfix lines of the harness traffic, their timestamps moved back so that the
// newest is silentAge old (and the file's mtime with it), never appended to: the log of a host
// whose syslog stopped writing two hours ago. The daemon reads it once from the beginning, as a
// daemon that had followed it up to that line would have. (A daemon started with start_at: end
// and no saved state reads no line of a log that is already silent, so it never exports
// mailwatch_log_last_line_timestamp_seconds for it and MailLogSilent cannot fire: a gap of the
// product, not of this test.) The service collector runs too, so that Postfix's state is there
// for the rule's `and on(instance, job)`.
func TestAlertLogSilent(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	var src []byte
	if env.LogMode == "file" {
		src = logSlice(t, env, postfixLog(env), "MWH_PLAN_POSTFIX_LOG_OFFSET")
	} else {
		src = logSlice(t, env, env.MailLog, "MWH_PLAN_MAILLOG_OFFSET")
	}
	lines, last := agedPostfixLines(t, src, 50, time.Now().Add(-silentAge))
	path := filepath.Join(t.TempDir(), "mail.log")
	if err := os.WriteFile(path, lines, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, last, last); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := OnlyConfig(map[string]string{"service": serviceSection}) + `logs:
  start_at: beginning
  sources:
    - {name: silent, paths: ["{{.Vars.LogFile}}"]}
`
	d := startScenario(t, env, "log_silent", cfg, map[string]string{"LogFile": path})
	src0 := map[string]string{"source": "silent"}
	mfs := d.WaitMetrics(t, 20*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		n, err := SampleValue(mfs, "mailwatch_log_lines_total", src0)
		if err != nil || n != float64(bytes.Count(lines, []byte("\n"))) {
			return fmt.Errorf("mailwatch_log_lines_total{source=\"silent\"} = %g (%v), want %d", n, err, bytes.Count(lines, []byte("\n")))
		}
		return nil
	})
	ts, err := SampleValue(mfs, "mailwatch_log_last_line_timestamp_seconds", src0)
	if err != nil {
		t.Fatal(err)
	}
	if want := float64(last.UnixMicro()) / 1e6; math.Abs(ts-want) > 1e-3 {
		t.Errorf("mailwatch_log_last_line_timestamp_seconds{source=\"silent\"} = %f, want the newest line's %f (%v)", ts, want, last)
	}
	wantValue(t, mfs, "mailwatch_service_state", map[string]string{"unit": "postfix", "state": "active"}, 1)

	env.WaitAlert(t, "firing", with(scenarioAlert(d, "MailLogSilent"), "source", "silent"), alertDeadline)
}

// agedPostfixLines returns the last n Postfix lines of log (syslog lines, RFC 3339 or
// traditional timestamps), oldest first, with every timestamp moved by the same amount so that
// the last one is newest (to the microsecond; to the second for traditional timestamps), each in
// the format it had, and that time.
func agedPostfixLines(t *testing.T, log []byte, n int, newest time.Time) ([]byte, time.Time) {
	t.Helper()
	type line struct {
		ts   time.Time
		rfc  bool
		rest string
	}
	var ls []line
	ref := time.Now()
	for _, l := range strings.Split(string(log), "\n") {
		if !strings.Contains(l, " postfix/") {
			continue
		}
		ts, ok := logLineTime([]byte(l), ref)
		if !ok {
			continue
		}
		if sp := strings.IndexByte(l, ' '); sp > 0 && strings.Contains(l[:sp], "T") {
			ls = append(ls, line{ts, true, l[sp:]})
		} else {
			ls = append(ls, line{ts, false, l[len(time.Stamp):]})
		}
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].ts.Before(ls[j].ts) })
	if len(ls) < n {
		t.Fatalf("the traffic's log has %d Postfix lines, want at least %d", len(ls), n)
	}
	ls = ls[len(ls)-n:]
	newest = newest.Truncate(time.Microsecond)
	shift := newest.Sub(ls[len(ls)-1].ts)
	var out strings.Builder
	for _, l := range ls {
		ts := l.ts.Add(shift)
		if l.rfc {
			out.WriteString(ts.Format("2006-01-02T15:04:05.000000-07:00"))
		} else {
			out.WriteString(ts.Local().Format(time.Stamp))
		}
		out.WriteString(l.rest + "\n")
	}
	last := ls[len(ls)-1].ts.Add(shift)
	if !ls[len(ls)-1].rfc {
		last = last.Truncate(time.Second)
	}
	return []byte(out.String()), last
}
