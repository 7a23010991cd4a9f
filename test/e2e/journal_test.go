// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// The same real traffic read from the systemd journal (a journal source: journalctl) and from
// the file rsyslog writes from that journal (a file source) gives the same counters (issue #4).
//
// Two daemons, one per source, start at the end of their source. A marker line logged with
// logger(1) brackets the traffic: rsyslog copies the journal in order, so once both daemons
// counted a marker they have read the same lines up to it. The counters between the two
// markers must be equal in both, and equal to what the test sent.
//
// Deliberately not parallel: Go runs every sequential test before it resumes the parallel
// ones, so the only mail traffic in the window is this test's (and Postfix's own queue runs,
// which both sources see alike).
func TestJournalCountsEqualFile(t *testing.T) {
	env := LoadEnv(t)
	if env.LogMode != "syslog" {
		t.Skipf("MWH_LOG_MODE=%s: Postfix and Dovecot do not log to the journal", env.LogMode)
	}
	ids := mailIdentifiers(t)

	const rules = `  rules:
    - {name: e2e_marker, program: opendkim, match: 'mailwatchd-e2e journal marker'}
`
	fileCfg := OnlyConfig(nil) + `logs:
  start_at: end
  sources:
    - {name: file, paths: [{{.Env.MailLog}}]}
` + rules
	journalCfg := OnlyConfig(nil) + `logs:
  start_at: end
  sources:
    - name: journal
      type: journal
      identifiers: [` + strings.Join(ids, ", ") + `]
` + rules
	file := StartDaemon(t, env, DaemonOptions{Config: fileCfg})
	journal := StartDaemon(t, env, DaemonOptions{Config: journalCfg})
	daemons := map[string]*Daemon{"file": file, "journal": journal}

	marker := func(n int) {
		t.Helper()
		msg := fmt.Sprintf("mailwatchd-e2e journal marker %d %d", n, time.Now().UnixNano())
		if out, err := exec.Command("logger", "-p", "mail.info", "-t", "opendkim", msg).CombinedOutput(); err != nil {
			t.Fatalf("logger: %v\n%s", err, out)
		}
	}
	// settled waits until both daemons counted n markers and neither's counters moved between
	// two polls (200 ms apart), and returns the counters of each.
	settled := func(n int) map[string]map[string]float64 {
		t.Helper()
		got := map[string]map[string]float64{}
		err := Eventually(60*time.Second, func() error {
			for name, d := range daemons {
				c := logCounters(d.Metrics(t))
				if c["event/e2e_marker"] != float64(n) {
					return fmt.Errorf("%s source: %g markers, want %d", name, c["event/e2e_marker"], n)
				}
				if !reflect.DeepEqual(c, got[name]) {
					got[name] = c
					return fmt.Errorf("%s source still counting", name)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	marker(1)
	before := settled(1)

	// The traffic: local deliveries from an "internet" client (one over STARTTLS), relay
	// attempts, and clients that drop the connection after EHLO.
	const deliveries, relays, drops = 4, 3, 2
	for i := range deliveries {
		args := []string{"-li", fmt.Sprintf("127.0.4.%d", 1+i), "--helo", "mx.journal.test", "-f", "news@journal.test",
			"-t", "alice@" + env.Domain, "--header", fmt.Sprintf("Subject: journal %d", i)}
		if i == 0 {
			args = append(args, "-tls")
		}
		swaks(t, args...)
	}
	for i := range drops {
		mailclient(t, env, "drop", "--src", fmt.Sprintf("127.0.4.%d", 51+i), "--port", "25", "--after", "ehlo")
	}
	for i := range relays {
		swaks(t, "-li", fmt.Sprintf("127.0.4.%d", 101+i), "--helo", "bulk.journal.test", "-f", "promo@journal.test",
			"-t", fmt.Sprintf("victim%d@elsewhere.test", i))
	}
	// Delivered over LMTP once qmgr picked the mail up.
	err := Eventually(30*time.Second, func() error {
		c := logCounters(file.Metrics(t))
		if got := c["action/delivered"] - before["file"]["action/delivered"]; got < deliveries {
			return fmt.Errorf("%g of %d messages delivered so far", got, deliveries)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	marker(2)
	after := settled(2)

	delta := map[string]map[string]float64{}
	for name := range daemons {
		delta[name] = map[string]float64{}
		for k, v := range after[name] {
			if d := v - before[name][k]; d != 0 {
				delta[name][k] = d
			}
		}
	}
	if !reflect.DeepEqual(delta["file"], delta["journal"]) {
		t.Errorf("counters differ between the sources:\n%s", diffCounters(delta["file"], delta["journal"]))
	}
	for k, want := range map[string]float64{
		"action/received": deliveries, "action/delivered": deliveries,
		"action/rejected": relays, "reason/relay_denied": relays, "event/relay_denied": relays,
		"event/e2e_marker": 1,
		"smtpd/smtp":       deliveries + relays + drops, "lost/smtp/ehlo": drops, "tls/in/anonymous": 1,
	} {
		for name := range daemons {
			if delta[name][k] != want {
				t.Errorf("%s source: %s went up by %g, want %g", name, k, delta[name][k], want)
			}
		}
	}
	t.Logf("counted alike through the journal and the file:\n%s", diffCounters(delta["file"], delta["journal"]))
}

// mailIdentifiers are the syslog identifiers of Postfix, Dovecot and OpenDKIM in the journal:
// what an admin lists in a journal source on a host whose mail daemons have no systemd unit.
func mailIdentifiers(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("journalctl", "--field=SYSLOG_IDENTIFIER").Output()
	if err != nil {
		t.Fatalf("journalctl --field=SYSLOG_IDENTIFIER: %v", err)
	}
	var ids []string
	for _, id := range strings.Fields(string(out)) {
		if strings.HasPrefix(id, "postfix/") || id == "dovecot" || id == "opendkim" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, need := range []string{"postfix/smtpd", "postfix/cleanup", "postfix/qmgr", "postfix/lmtp", "dovecot", "opendkim"} {
		if sort.SearchStrings(ids, need) == len(ids) || ids[sort.SearchStrings(ids, need)] != need {
			t.Fatalf("the journal has no line of %s: is the harness traffic in it? (%v)", need, ids)
		}
	}
	return ids
}

// logCounters are the log pipeline's counters of a scrape (or a replay), as "action/NAME",
// "reason/NAME", "event/NAME", "unmatched/PROGRAM", the deliveries as
// "delivery/TRANSPORT/STATUS/REASON" and "delay_sum/TRANSPORT/STATUS", and the mail flow as
// "smtpd/SERVICE", "lost/SERVICE/AFTER", "tls/DIRECTION/TRUST", "postscreen/EVENT",
// "verdict/SCANNER/VERDICT", "provider/PROVIDER/STATUS/REASON" and the histograms' _count and
// _sum ("message_size_count" ...).
func logCounters(mfs map[string]*dto.MetricFamily) map[string]float64 {
	c := map[string]float64{}
	for name, labels := range map[string][]string{
		"mailwatch_postfix_smtpd_connections_total":      {"smtpd", "service"},
		"mailwatch_postfix_smtpd_lost_connections_total": {"lost", "service", "after"},
		"mailwatch_postfix_tls_connections_total":        {"tls", "direction", "trust"},
		"mailwatch_postfix_postscreen_events_total":      {"postscreen", "event"},
		"mailwatch_antispam_verdicts_total":              {"verdict", "scanner", "verdict"},
		"mailwatch_postfix_provider_deliveries_total":    {"provider", "provider", "status", "reason"},
	} {
		for _, s := range Samples(mfs, name) {
			k := labels[0]
			for _, l := range labels[1:] {
				k += "/" + s.Labels[l]
			}
			c[k] = s.Value
		}
	}
	for _, h := range []string{"message_size", "message_recipients"} {
		name := "mailwatch_postfix_" + h
		if h == "message_size" {
			name += "_bytes"
		}
		if mf := mfs[name]; mf != nil && len(mf.GetMetric()) == 1 {
			c[h+"_count"] = float64(mf.GetMetric()[0].GetHistogram().GetSampleCount())
			c[h+"_sum"] = mf.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	for _, s := range Samples(mfs, "mailwatch_postfix_deliveries_total") {
		c["delivery/"+s.Labels["transport"]+"/"+s.Labels["status"]+"/"+s.Labels["reason"]] = s.Value
	}
	if mf := mfs["mailwatch_postfix_delivery_delay_seconds"]; mf != nil {
		for _, m := range mf.GetMetric() {
			lv := map[string]string{}
			for _, lp := range m.GetLabel() {
				lv[lp.GetName()] = lp.GetValue()
			}
			c["delay_sum/"+lv["transport"]+"/"+lv["status"]] = m.GetHistogram().GetSampleSum()
		}
	}
	for name, label := range map[string]string{
		"mailwatch_postfix_messages_total":    "action",
		"mailwatch_postfix_rejects_total":     "reason",
		"mailwatch_log_events_total":          "event",
		"mailwatch_log_unmatched_lines_total": "program",
	} {
		prefix := label
		if label == "program" {
			prefix = "unmatched"
		}
		for _, s := range Samples(mfs, name) {
			c[prefix+"/"+s.Labels[label]] = s.Value
		}
	}
	return c
}

// diffCounters lists two counter sets side by side.
func diffCounters(a, b map[string]float64) string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var s strings.Builder
	for _, k := range ks {
		mark := ""
		if a[k] != b[k] {
			mark = "  <- differs"
		}
		fmt.Fprintf(&s, "  %-40s file %6g  journal %6g%s\n", k, a[k], b[k], mark)
	}
	return s.String()
}

// mailclient runs test/harness/mailclient.py with args; its exit status is not judged (the
// log says what the server saw).
func mailclient(t *testing.T, env *Env, args ...string) {
	t.Helper()
	cmd := exec.Command("python3", append([]string{filepath.Join(env.HarnessDir, "mailclient.py")}, args...)...)
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("mailclient.py %s: %v", strings.Join(args, " "), err)
		}
	}
}

// swaks sends one message to the harness Postfix on port 25 (a rejection is not an error).
func swaks(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("swaks", append([]string{"--server", "127.0.0.1", "--port", "25", "--timeout", "20", "--hide-all"}, args...)...)
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("swaks: %v", err)
		}
	}
}
