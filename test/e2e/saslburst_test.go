// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// The compromised-account scenario (issue #18) on the real stack. test/harness/saslburst.sh logs
// in over submission (587 STARTTLS and 465, in turn) as the virtual SASL user mwburst@DOMAIN and
// submits a burst from saslBurstAddrs client addresses of MWH_SASLBURST_NET, in two halves with
// a restart of the daemon between them (SIGTERM, the second half sent while it is down, started
// again on the same state directory); a second user, mwquiet@DOMAIN, sends a few messages from two
// addresses. Some of the burst's messages have an envelope sender outside the user's domain,
// some three recipients, some a recipient Postfix refuses at RCPT (mailclient.py submit), and its
// last one Rspamd's GTUBE string, which the milter rejects at the end of DATA: it counts, as
// mailwatchd counts a message at smtpd's client= line (the README's rule, which is how
// pflogsumm and mailwatch_postfix_messages_total{action="received"} count received mail).
//
// The daemon follows the real Postfix log from its end: nothing else on the stack submits as these
// users, and no other test submits authenticated mail while the e2e tests run (traffic.sh's
// submissions are over before they start), so what it counts is exactly the script's; a test
// that submits as another SASL user in parallel would show here as a third active sender. After the whole burst, from the window saved
// across the restart: rank 1 of messages is the burst, rank 1 of client addresses its address
// count, rank 2 the quiet user's figures, two active senders, the mismatch counter the messages
// with a foreign sender; the status page's top senders and `mailwatchd check` name the burst
// user (check: above sasl_client_ips_warning, 10); PostfixSASLUserManyClientIPs (shipped
// threshold 10) and PostfixSASLUserHighVolume (threshold lowered to one below the burst for this
// scenario, alerting.go) reach the webhook through Alertmanager.
const (
	saslBurstScenario = "sasl_burst"
	saslBurstAddrs    = 12 // above the shipped 10 of PostfixSASLUserManyClientIPs
	saslBurstPerAddr  = 2
	saslBurstMessages = saslBurstAddrs * saslBurstPerAddr
	// the first saslBurstMismatch[i] messages of half i have a sender in another domain
	saslBurstMismatch1, saslBurstMismatch2 = 2, 3
	// the last message of the second half is rejected by Rspamd's milter
	saslBurstGTUBE = 1
	// the quiet user: one message from each of .101 and .102 before the restart, one from .101 after
	saslQuietMessages, saslQuietAddrs = 3, 2
)

// saslBurstLogs follows the Postfix log from its end and saves the state every second (check
// reads the saved window).
const saslBurstLogs = `logs:
  start_at: end
  poll_interval: 250ms
  state_save_interval: 1s
  sources:
    - {name: mail, paths: ["{{.Vars.LogFile}}"]}
`

// burstResult is mailclient.py submit's summary.
type burstResult struct {
	User         string   `json:"user"`
	Accepted     int      `json:"accepted"`
	Rejected     int      `json:"rejected"`
	Mismatched   int      `json:"mismatched"`
	RefusedRcpts int      `json:"refused_rcpts"`
	Addresses    []string `json:"addresses"`
	Errors       []string `json:"errors"`
}

// saslBurst runs saslburst.sh and fails the test unless the GTUBE messages were rejected and
// every other one accepted.
func saslBurst(t *testing.T, env *Env, who string, first, last, perAddr, mismatch, gtube int) burstResult {
	t.Helper()
	args := []string{who, strconv.Itoa(first), strconv.Itoa(last), strconv.Itoa(perAddr), strconv.Itoa(mismatch), strconv.Itoa(gtube)}
	cmd := exec.Command(filepath.Join(env.HarnessDir, "saslburst.sh"), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var r burstResult
	if jerr := json.Unmarshal(out, &r); jerr != nil || err != nil {
		t.Fatalf("saslburst.sh %s: %v (%v)\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, jerr, out, stderr.String())
	}
	t.Logf("saslburst.sh %s: %d accepted (%d with a foreign sender, %d recipients refused at RCPT), %d rejected by the milter, from %d addresses",
		strings.Join(args, " "), r.Accepted, r.Mismatched, r.RefusedRcpts, r.Rejected, len(r.Addresses))
	return r
}

// saslFigures are the SASL gauges and counters of one scrape.
type saslFigures struct {
	msgs1, ips1, msgs2, ips2, msgs3, active, mismatch, submissions float64
}

func readSASLFigures(mfs map[string]*dto.MetricFamily) (saslFigures, error) {
	var f saslFigures
	for _, v := range []struct {
		dst   *float64
		name  string
		match map[string]string
	}{
		{&f.msgs1, "mailwatch_postfix_sasl_top_sender_messages", map[string]string{"rank": "1"}},
		{&f.ips1, "mailwatch_postfix_sasl_top_sender_client_ips", map[string]string{"rank": "1"}},
		{&f.msgs2, "mailwatch_postfix_sasl_top_sender_messages", map[string]string{"rank": "2"}},
		{&f.ips2, "mailwatch_postfix_sasl_top_sender_client_ips", map[string]string{"rank": "2"}},
		{&f.msgs3, "mailwatch_postfix_sasl_top_sender_messages", map[string]string{"rank": "3"}},
		{&f.active, "mailwatch_postfix_sasl_active_senders", nil},
		{&f.mismatch, "mailwatch_postfix_sasl_sender_mismatch_total", nil},
		{&f.submissions, "mailwatch_log_events_total", map[string]string{"event": "postfix_sasl_submission"}},
	} {
		x, err := SampleValue(mfs, v.name, v.match)
		if err != nil {
			return f, err
		}
		*v.dst = x
	}
	return f, nil
}

// waitSASLFigures waits until the daemon's figures are want.
func waitSASLFigures(t *testing.T, d *Daemon, want saslFigures) {
	t.Helper()
	var last saslFigures
	d.WaitMetrics(t, 60*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		f, err := readSASLFigures(mfs)
		if err != nil {
			return err
		}
		last = f
		if f != want {
			return fmt.Errorf("SASL figures %+v, want %+v", f, want)
		}
		return nil
	})
	t.Logf("SASL figures: %+v", last)
}

func TestSASLBurst(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	burstUser := getenv("MWH_SASLBURST_USER", "mwburst") + "@" + env.Domain
	quietUser := getenv("MWH_SASLBURST_QUIET_USER", "mwquiet") + "@" + env.Domain
	d := startScenarioWith(t, env, saslBurstScenario, DaemonOptions{
		Config: OnlyConfig(nil) + saslBurstLogs, Vars: map[string]string{"LogFile": postfixLog(env)}})
	// The follower has the file open (its last line's time) before anything is sent: lines written
	// earlier would be skipped by start_at: end.
	d.WaitMetrics(t, 30*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		_, err := SampleValue(mfs, "mailwatch_log_last_line_timestamp_seconds", map[string]string{"source": "mail"})
		return err
	})
	waitSASLFigures(t, d, saslFigures{})

	// First half: addresses 1-6.
	half := saslBurstAddrs / 2
	b1 := saslBurst(t, env, "burst", 1, half, saslBurstPerAddr, saslBurstMismatch1, 0)
	q1 := saslBurst(t, env, "quiet", 101, 102, 1, 0, 0)
	waitSASLFigures(t, d, saslFigures{msgs1: float64(b1.Accepted), ips1: float64(half), msgs2: float64(q1.Accepted), ips2: 2,
		active: 2, mismatch: saslBurstMismatch1, submissions: float64(b1.Accepted + q1.Accepted)})

	// Restart: SIGTERM (the state is saved on the way out), the second half while the daemon is
	// down, then start it again on the same state directory. It reads the lines it missed from its
	// saved position, into the window it saved.
	d.Stop(t)
	b2 := saslBurst(t, env, "burst", half+1, saslBurstAddrs, saslBurstPerAddr, saslBurstMismatch2, saslBurstGTUBE)
	q2 := saslBurst(t, env, "quiet", 101, 101, 1, 0, 0)
	d.StartAgain(t)
	if b1.Accepted+b2.Accepted+b2.Rejected != saslBurstMessages || q1.Accepted+q2.Accepted != saslQuietMessages {
		t.Fatalf("sent %d+%d(+%d rejected) burst and %d+%d quiet messages, want %d and %d",
			b1.Accepted, b2.Accepted, b2.Rejected, q1.Accepted, q2.Accepted, saslBurstMessages, saslQuietMessages)
	}
	waitSASLFigures(t, d, saslFigures{msgs1: saslBurstMessages, ips1: saslBurstAddrs, msgs2: saslQuietMessages, ips2: saslQuietAddrs,
		active: 2, mismatch: saslBurstMismatch1 + saslBurstMismatch2, submissions: saslBurstMessages + saslQuietMessages})

	// The names behind the ranks: the status page's top senders and its check row.
	page := saslStatusJSON(t, d)
	want := []saslStatusSender{{1, burstUser, saslBurstMessages, saslBurstAddrs}, {2, quietUser, saslQuietMessages, saslQuietAddrs}}
	if fmt.Sprint(page.Top) != fmt.Sprint(want) {
		t.Errorf("status page top_sasl_senders = %+v, want %+v", page.Top, want)
	}
	wantRow := fmt.Sprintf("%d messages from %d client IPs", saslBurstMessages, saslBurstAddrs)
	if r, ok := rowOf(page.Rows, "logs", "SASL sender "+burstUser); !ok || r.Status != "WARN" || !strings.Contains(r.Value, wantRow) {
		t.Errorf("status page row for %s = %v (found %v), want WARN with %q", burstUser, r, ok, wantRow)
	}

	// mailwatchd check, from the window the daemon saved (every second).
	cfgFile := filepath.Join(d.Dir, "config.yaml")
	var res *CheckResult
	if err := Eventually(15*time.Second, func() error {
		res = Check(t, env, cfgFile)
		r, ok := res.Row("logs", "SASL sender "+burstUser)
		if !ok || r.Status != "WARN" || !strings.Contains(r.Value, wantRow) {
			return fmt.Errorf("no WARN row naming %s with %q", burstUser, wantRow)
		}
		return nil
	}); err != nil {
		t.Errorf("mailwatchd check: %v\n%s", err, res.Table())
	}
	if _, ok := res.Row("logs", "SASL sender "+quietUser); ok {
		t.Errorf("mailwatchd check names %s, who is below the thresholds:\n%s", quietUser, res.Table())
	}

	// Through Prometheus and Alertmanager to the webhook.
	env.WaitAlert(t, "firing", scenarioAlert(d, "PostfixSASLUserManyClientIPs"), alertDeadline)
	env.WaitAlert(t, "firing", with(scenarioAlert(d, "PostfixSASLUserHighVolume"), "e2e_threshold", "lowered"), alertDeadline)
}

type saslStatusSender struct {
	Rank      int    `json:"rank"`
	User      string `json:"user"`
	Messages  int    `json:"messages"`
	ClientIPs int    `json:"client_ips"`
}

// saslStatusJSON fetches the status page's JSON: its rows and top SASL senders.
func saslStatusJSON(t testing.TB, d *Daemon) (doc struct {
	Rows []CheckRow         `json:"rows"`
	Top  []saslStatusSender `json:"top_sasl_senders"`
}) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(d.URL + "/?format=json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /?format=json: %d %v", res.StatusCode, err)
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("GET /?format=json: %v\n%s", err, body)
	}
	return doc
}

func rowOf(rows []CheckRow, area, item string) (CheckRow, bool) {
	for _, r := range rows {
		if r.Area == area && r.Item == item {
			return r, true
		}
	}
	return CheckRow{}, false
}
