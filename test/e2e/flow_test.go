// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// replayFamilies runs `mailwatchd replay --format prometheus` on data and returns its
// metric families.
func replayFamilies(t *testing.T, env *Env, data []byte) map[string]*dto.MetricFamily {
	t.Helper()
	cmd := exec.Command(env.Binary, "replay", "--format", "prometheus", "-")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mailwatchd replay: %v", err)
	}
	mfs, err := ParseMetrics(out)
	if err != nil {
		t.Fatalf("parse replay output: %v\n%s", err, out)
	}
	return mfs
}

// deliveryRe matches a Postfix recipient status line of a delivery agent (or of the queue
// manager itself), as Postfix writes it: the daemon is the last part of the syslog tag
// (postfix/slow/smtp is smtp).
var deliveryRe = regexp.MustCompile(` postfix(?:-[\w.-]+)?/(?:[\w.-]+/)*(smtp|lmtp|local|virtual|pipe|error|retry|discard|qmgr)\[\d+\]: [0-9A-Za-z]+: to=<[^>]*>, .*\bdelay=([0-9.]+), .*\bstatus=(sent|deferred|bounced) \((.*)\)$`)

// harnessReason is the reason class of the reply texts the harness's sinks and dead relay
// produce, classified here by hand; "" for the texts this test does not judge.
func harnessReason(status, text string) string {
	switch {
	case status == "sent":
		return "none"
	case strings.Contains(text, "Connection refused"):
		return "connection_refused"
	case strings.Contains(text, "Greylisted"):
		return "greylisted"
	case strings.Contains(text, "User unknown"), strings.Contains(text, "unknown user"),
		strings.Contains(text, "User doesn't exist"): // Dovecot LMTP's 550 5.1.1
		return "unknown_user"
	// The provider-mapped sinks' replies (configure.sh): Gmail's (ending "- gsmtp"), Microsoft's
	// S3150 block list and IP-reputation rate limit, Yahoo's [TSS04]/[TSS09], Apple's [CS01].
	case strings.Contains(text, "- gsmtp"), strings.Contains(text, "(S3150)"), strings.Contains(text, "(S775)"),
		strings.Contains(text, "[TSS0"), strings.Contains(text, "[CS01]"):
		return "reputation"
	}
	return ""
}

// TestDeliveriesMatchLog: over the harness traffic's log lines, the delivery histogram's
// _count and _sum per transport and status equal the number of status= lines and the sum
// of their delay= values, deliveries_total agrees with them, and the reasons of the replies
// the harness provokes (refused relay, greylisting, unknown users) are counted as such.
func TestDeliveriesMatchLog(t *testing.T) {
	env := LoadEnv(t)
	if env.LogMode == "file" {
		t.Skip("reads the syslog mail.log")
	}
	data := logSlice(t, env, env.MailLog, "MWH_PLAN_MAILLOG_OFFSET")
	mfs := replayFamilies(t, env, data)

	type key struct{ transport, status string }
	wantN, wantSum := map[key]int{}, map[key]float64{}
	wantReason := map[[2]string]int{}
	for _, l := range strings.Split(string(data), "\n") {
		m := deliveryRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		transport := m[1]
		if transport == "qmgr" { // the queue manager's own verdicts ("mail transport unavailable")
			transport = "other"
		}
		k := key{transport, m[3]}
		d, _ := strconv.ParseFloat(m[2], 64)
		wantN[k]++
		wantSum[k] += d
		if r := harnessReason(m[3], m[4]); r != "" {
			wantReason[[2]string{m[3], r}]++
		}
	}
	for _, s := range []string{"sent", "deferred", "bounced"} {
		n := 0
		for k, v := range wantN {
			if k.status == s {
				n += v
			}
		}
		if n == 0 {
			t.Errorf("the harness traffic should produce status=%s lines", s)
		}
	}

	gotN, gotSum := map[key]int{}, map[key]float64{}
	if mf := mfs["mailwatch_postfix_delivery_delay_seconds"]; mf == nil {
		t.Fatal("replay does not print mailwatch_postfix_delivery_delay_seconds")
	} else {
		for _, m := range mf.GetMetric() {
			lv := map[string]string{}
			for _, lp := range m.GetLabel() {
				lv[lp.GetName()] = lp.GetValue()
			}
			k := key{lv["transport"], lv["status"]}
			gotN[k] += int(m.GetHistogram().GetSampleCount())
			gotSum[k] += m.GetHistogram().GetSampleSum()
		}
	}
	gotTotal := map[key]int{}
	gotReason := map[[2]string]int{}
	for _, s := range Samples(mfs, "mailwatch_postfix_deliveries_total") {
		gotTotal[key{s.Labels["transport"], s.Labels["status"]}] += int(s.Value)
		gotReason[[2]string{s.Labels["status"], s.Labels["reason"]}] += int(s.Value)
	}
	for k, n := range wantN {
		t.Logf("%-6s %-9s lines %4d delay sum %9.2f | histogram %4d %9.2f | total %4d", k.transport, k.status, n, wantSum[k], gotN[k], gotSum[k], gotTotal[k])
		if gotN[k] != n || gotTotal[k] != n {
			t.Errorf("%s/%s: %d status= lines, histogram _count %d, deliveries_total %d", k.transport, k.status, n, gotN[k], gotTotal[k])
		}
		if math.Abs(gotSum[k]-wantSum[k]) > 1e-6*math.Max(1, wantSum[k]) {
			t.Errorf("%s/%s: delay= sum %.3f, histogram _sum %.3f", k.transport, k.status, wantSum[k], gotSum[k])
		}
	}
	for k, n := range gotN {
		if k.status != "expired" && wantN[k] == 0 && n > 0 {
			t.Errorf("%s/%s: histogram counted %d, the log has no such line", k.transport, k.status, n)
		}
	}
	for k, n := range wantReason {
		t.Logf("reason %-9s %-18s grep %4d  mailwatchd %4d", k[0], k[1], n, gotReason[k])
		if gotReason[k] != n {
			t.Errorf("%s with reason %s: %d lines, mailwatchd %d", k[0], k[1], n, gotReason[k])
		}
	}
}
