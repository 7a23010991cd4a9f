// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// The inbound side of the mail flow (issue #17) over the harness traffic's log lines: smtpd
// connections and lost connections by service and stage, TLS by direction and trust, the queue
// manager's message sizes and recipient counts, postscreen's verdicts, the providers' replies;
// and Rspamd's verdicts against Rspamd's own figures. Every count here is made by the test from
// the log text with its own patterns (Postfix's and Rspamd's log formats as they write them),
// independently of mailwatchd's parser, and then compared with `mailwatchd replay`.

var (
	// The service is the syslog name's middle part: postfix/smtpd is the smtp service,
	// postfix/submission/smtpd the submission service (master.cf -o syslog_name).
	smtpdConnectRe = regexp.MustCompile(` postfix(?:-[\w.-]+)?/(?:([\w.-]+)/)?smtpd\[\d+\]: connect from `)
	// smtpd.c: "lost connection after %s%s from %s" (" (N bytes)" after DATA and BDAT).
	smtpdLostRe = regexp.MustCompile(` postfix(?:-[\w.-]+)?/(?:([\w.-]+)/)?smtpd\[\d+\]: lost connection after ([A-Z-]+)(?: \(\d+ bytes\))? from [^\[ ]*\[([^\]]+)\]`)
	// tls_client.c / tls_server.c: "%s TLS connection established to|from %s: ...", the level
	// being Anonymous, Untrusted, Trusted or Verified.
	tlsEstablishedRe = regexp.MustCompile(` postfix(?:-[\w.-]+)?/(?:[\w.-]+/)*[\w.-]+\[\d+\]: (Anonymous|Untrusted|Trusted|Verified) TLS connection established (from|to) `)
	// qmgr: "QUEUEID: from=<sender>, size=N, nrcpt=M (queue active)".
	qmgrFromRe = regexp.MustCompile(` postfix(?:-[\w.-]+)?/(?:[\w.-]+/)*qmgr\[\d+\]: ([0-9A-Za-z]+): from=<[^>]*>, size=(\d+), nrcpt=(\d+) `)
	// master.c: "service \"%s\" (%s) has reached its process limit \"%d\": ..." (a warning).
	processLimitRe = regexp.MustCompile(` postfix(?:-[\w.-]+)?/master\[\d+\]: warning: service "[^"]+" \([^)]*\) has reached its process limit `)
	// smtpd, from anvil: "warning: Connection rate limit exceeded: 3 from host[addr] for service NAME".
	anvilLimitRe = regexp.MustCompile(` postfix(?:-[\w.-]+)?/(?:[\w.-]+/)*smtpd\[\d+\]: warning: [A-Za-z ]+ limit exceeded: \d+ from \S+ for service `)
	// postscreen's own verdict lines, by their first words.
	postscreenRe = regexp.MustCompile(` postfix(?:-[\w.-]+)?/(?:[\w.-]+/)*postscreen\[\d+\]: (PASS NEW|PASS OLD|PREGREET|DNSBL rank|HANGUP|COMMAND PIPELINING|NON-SMTP COMMAND|BARE NEWLINE|ALLOWLISTED|WHITELISTED|DENYLISTED|BLACKLISTED|NOQUEUE: reject:) `)
)

// smtpdService maps the syslog name's service part to the service label of the default
// logs.services list.
func smtpdService(part string) string {
	switch part {
	case "":
		return "smtp"
	case "submission", "submissions":
		return part
	}
	return "other"
}

// smtpStage is the after label of a stage as Postfix names it.
func smtpStage(s string) string {
	switch s = strings.ToLower(s); s {
	case "end-of-message":
		return "end_of_data"
	case "connect", "ehlo", "helo", "starttls", "auth", "mail", "rcpt", "data", "rset", "quit", "unknown":
		return s
	}
	return "other"
}

var postscreenEvent = map[string]string{
	"PASS NEW": "pass_new", "PASS OLD": "pass_old", "PREGREET": "pregreet", "DNSBL rank": "dnsbl",
	"HANGUP": "hangup", "COMMAND PIPELINING": "pipelining", "NON-SMTP COMMAND": "non_smtp_command",
	"BARE NEWLINE": "bare_newline", "ALLOWLISTED": "allowlisted", "WHITELISTED": "allowlisted",
	"DENYLISTED": "denylisted", "BLACKLISTED": "denylisted", "NOQUEUE: reject:": "reject",
}

// flowCounts is what the test counts in the log itself.
type flowCounts struct {
	conns      map[string]int    // service
	lost       map[[2]string]int // service, after
	drops      map[[2]string]int // the same, only the traffic's dropping clients (127.0.6.0/24)
	tls        map[[2]string]int // direction, trust
	postscreen map[string]int
	events     map[string]int // the saturation events of log_events_total
	msgs       int            // distinct queue ids with a qmgr from= line
	sizeSum    float64        // their size= values
	rcptSum    float64        // their nrcpt= values
}

func countFlow(data []byte) flowCounts {
	c := flowCounts{conns: map[string]int{}, lost: map[[2]string]int{}, drops: map[[2]string]int{},
		tls: map[[2]string]int{}, postscreen: map[string]int{}, events: map[string]int{}}
	seen := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if m := smtpdConnectRe.FindStringSubmatch(l); m != nil {
			c.conns[smtpdService(m[1])]++
		} else if m := smtpdLostRe.FindStringSubmatch(l); m != nil {
			k := [2]string{smtpdService(m[1]), smtpStage(m[2])}
			c.lost[k]++
			if strings.HasPrefix(m[3], "127.0.6.") {
				c.drops[k]++
			}
		} else if m := tlsEstablishedRe.FindStringSubmatch(l); m != nil {
			dir := "in"
			if m[2] == "to" {
				dir = "out"
			}
			c.tls[[2]string{dir, strings.ToLower(m[1])}]++
		} else if m := qmgrFromRe.FindStringSubmatch(l); m != nil {
			if !seen[m[1]] {
				seen[m[1]] = true
				size, _ := strconv.Atoi(m[2])
				n, _ := strconv.Atoi(m[3])
				c.msgs++
				c.sizeSum += float64(size)
				c.rcptSum += float64(n)
			}
		} else if m := postscreenRe.FindStringSubmatch(l); m != nil {
			c.postscreen[postscreenEvent[m[1]]]++
		} else if processLimitRe.MatchString(l) {
			c.events["postfix_process_limit"]++
		} else if anvilLimitRe.MatchString(l) {
			c.events["postfix_anvil_limit"]++
		}
	}
	return c
}

// histogram returns the _count and _sum of an unlabelled histogram family.
func histogram(t *testing.T, mfs map[string]*dto.MetricFamily, name string) (float64, float64) {
	t.Helper()
	mf := mfs[name]
	if mf == nil || len(mf.GetMetric()) != 1 {
		t.Fatalf("want one series of %s, got %v", name, mf)
	}
	h := mf.GetMetric()[0].GetHistogram()
	return float64(h.GetSampleCount()), h.GetSampleSum()
}

// TestInboundFlowMatchesLog: over the harness traffic's log lines, mailwatchd's smtpd,
// lost-connection, TLS, message size/recipient and postscreen counters equal the test's own
// count of the same lines, and the lost connections the traffic provoked are exactly its plan.
func TestInboundFlowMatchesLog(t *testing.T) {
	env := LoadEnv(t)
	if env.LogMode == "file" {
		t.Skip("reads the syslog mail.log")
	}
	data := logSlice(t, env, env.MailLog, "MWH_PLAN_MAILLOG_OFFSET")
	mfs := replayFamilies(t, env, data)
	want := countFlow(data)

	// Connections by service: smtp, submission, submissions and the loopback TLS sinks (other).
	got := map[string]int{}
	for _, s := range Samples(mfs, "mailwatch_postfix_smtpd_connections_total") {
		got[s.Labels["service"]] += int(s.Value)
	}
	for _, svc := range []string{"smtp", "submission", "submissions", "other"} {
		t.Logf("connections %-12s log %4d mailwatchd %4d", svc, want.conns[svc], got[svc])
		if want.conns[svc] == 0 {
			t.Errorf("the traffic should open smtpd connections of service %s", svc)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want.conns) {
		t.Errorf("smtpd connections by service: log %v, mailwatchd %v", want.conns, got)
	}

	// Lost connections by service and stage.
	gotLost := map[[2]string]int{}
	for _, s := range Samples(mfs, "mailwatch_postfix_smtpd_lost_connections_total") {
		if s.Value != 0 {
			gotLost[[2]string{s.Labels["service"], s.Labels["after"]}] += int(s.Value)
		}
	}
	if fmt.Sprint(gotLost) != fmt.Sprint(want.lost) {
		t.Errorf("lost connections by (service, after):\n  log        %v\n  mailwatchd %v", want.lost, gotLost)
	}
	// The dropping clients: each planned (service, stage) exactly N_DROP times, nothing else.
	n := env.PlanInt(t, "DROP")
	plan := map[[2]string]int{}
	for _, d := range strings.Split(env.Var("MWH_PLAN_DROPS"), ",") {
		f := strings.Split(d, ":") // SERVICE:PORT:TLS:STAGE
		if len(f) != 4 {
			t.Fatalf("MWH_PLAN_DROPS: bad entry %q", d)
		}
		plan[[2]string{f[0], f[3]}] += n
	}
	for k, v := range plan {
		t.Logf("lost after %-11s on %-11s plan %d log %d mailwatchd (all clients) %d", k[1], k[0], v, want.drops[k], gotLost[k])
	}
	if fmt.Sprint(plan) != fmt.Sprint(want.drops) {
		t.Errorf("the dropping clients' lost connections in the log %v, traffic plan %v", want.drops, plan)
	}

	// TLS connections by direction and trust: inbound anonymous (no client certificates), and
	// outbound to the three loopback TLS sinks at their three trust levels.
	gotTLS := map[[2]string]int{}
	for _, s := range Samples(mfs, "mailwatch_postfix_tls_connections_total") {
		if s.Value != 0 {
			gotTLS[[2]string{s.Labels["direction"], s.Labels["trust"]}] += int(s.Value)
		}
	}
	t.Logf("tls log %v, mailwatchd %v", want.tls, gotTLS)
	if fmt.Sprint(gotTLS) != fmt.Sprint(want.tls) {
		t.Errorf("TLS connections by (direction, trust): log %v, mailwatchd %v", want.tls, gotTLS)
	}
	for _, k := range [][2]string{{"in", "anonymous"}, {"out", "untrusted"}, {"out", "trusted"}, {"out", "verified"}} {
		if want.tls[k] == 0 {
			t.Errorf("the traffic should produce %s TLS connections %s", k[1], k[0])
		}
	}

	// Sizes and recipient counts: one observation per queue id's qmgr from= line.
	nSize, sumSize := histogram(t, mfs, "mailwatch_postfix_message_size_bytes")
	nRcpt, sumRcpt := histogram(t, mfs, "mailwatch_postfix_message_recipients")
	t.Logf("qmgr: %d messages, size sum %.0f, recipients %.0f | size histogram %.0f/%.0f, recipients histogram %.0f/%.0f",
		want.msgs, want.sizeSum, want.rcptSum, nSize, sumSize, nRcpt, sumRcpt)
	if want.msgs < env.PlanInt(t, "LOCAL") {
		t.Errorf("only %d qmgr from= lines; the traffic queued more", want.msgs)
	}
	if nSize != float64(want.msgs) || sumSize != want.sizeSum {
		t.Errorf("message size histogram _count %.0f _sum %.0f, log %d messages of %.0f bytes", nSize, sumSize, want.msgs, want.sizeSum)
	}
	if nRcpt != float64(want.msgs) || sumRcpt != want.rcptSum {
		t.Errorf("recipients histogram _count %.0f _sum %.0f, log %d messages with %.0f recipients", nRcpt, sumRcpt, want.msgs, want.rcptSum)
	}

	// postscreen: every verdict the traffic provokes, equal to the log's lines.
	gotPS := map[string]int{}
	for _, s := range Samples(mfs, "mailwatch_postfix_postscreen_events_total") {
		if s.Value != 0 && s.Labels["event"] != "other" {
			gotPS[s.Labels["event"]] += int(s.Value)
		}
	}
	t.Logf("postscreen log %v, mailwatchd %v", want.postscreen, gotPS)
	if fmt.Sprint(gotPS) != fmt.Sprint(want.postscreen) {
		t.Errorf("postscreen events: log %v, mailwatchd %v", want.postscreen, gotPS)
	}
	for _, e := range []string{"pass_new", "pass_old", "pregreet", "hangup", "pipelining", "non_smtp_command", "bare_newline", "allowlisted", "reject"} {
		if want.postscreen[e] < env.PlanInt(t, "POSTSCREEN")/2 || want.postscreen[e] == 0 {
			t.Errorf("the traffic should produce postscreen %s lines, the log has %d", e, want.postscreen[e])
		}
	}

	// Saturation: the rate-limited service's anvil limit (and master's process limit warning,
	// which the loopback-only harness cannot provoke: counted alike when it is there).
	for _, e := range []string{"postfix_process_limit", "postfix_anvil_limit"} {
		v, _ := SampleValue(mfs, "mailwatch_log_events_total", map[string]string{"event": e})
		t.Logf("event %-22s log %d mailwatchd %g", e, want.events[e], v)
		if e == "postfix_anvil_limit" && want.events[e] == 0 {
			t.Errorf("the traffic should produce %s lines", e)
		}
		if v != float64(want.events[e]) {
			t.Errorf("log_events_total{event=%q} = %g, the log has %d", e, v, want.events[e])
		}
	}
}

// providerOf classifies a recipient domain by hand: the big providers' consumer domains the
// harness sends to (transport_maps route them to loopback sinks).
func providerOf(domain string) string {
	switch domain {
	case "gmail.com", "googlemail.com":
		return "google"
	case "outlook.com", "hotmail.com", "live.com", "msn.com":
		return "microsoft"
	case "yahoo.com", "aol.com", "ymail.com":
		return "yahoo"
	case "icloud.com", "me.com", "mac.com":
		return "apple"
	}
	return "other"
}

var rcptDomainRe = regexp.MustCompile(`: to=<[^>@]*@([^>]+)>, `)

// TestProviderDeliveriesMatchLog: the provider-mapped sinks answer with the providers' real
// reputation replies; mailwatchd's per-provider deliveries equal the test's own count by
// recipient domain, every refusal counted as reputation, and the sent/bounced counts equal the
// traffic plan (deferrals can be retried, so at least the plan).
func TestProviderDeliveriesMatchLog(t *testing.T) {
	env := LoadEnv(t)
	if env.LogMode == "file" {
		t.Skip("reads the syslog mail.log")
	}
	data := logSlice(t, env, env.MailLog, "MWH_PLAN_MAILLOG_OFFSET")
	mfs := replayFamilies(t, env, data)
	type key struct{ provider, status, reason string }
	want := map[key]int{}
	sentN, sentSum := map[string]int{}, map[string]float64{} // per provider: the sent lines and their delay= sum
	for _, l := range strings.Split(string(data), "\n") {
		m := deliveryRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		d := rcptDomainRe.FindStringSubmatch(l)
		if d == nil {
			continue
		}
		p := providerOf(d[1])
		if p == "other" {
			continue
		}
		reason := harnessReason(m[3], m[4])
		if reason == "" {
			t.Errorf("a %s delivery the test cannot classify: %s", p, l)
			continue
		}
		want[key{p, m[3], reason}]++
		if m[3] == "sent" {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatal(err)
			}
			sentN[p]++
			sentSum[p] += v
		}
	}
	// The sent lines' delays per provider: the histogram's _count and _sum.
	for _, m := range mfs["mailwatch_postfix_provider_delivery_delay_seconds"].GetMetric() {
		p := ""
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "provider" {
				p = lp.GetValue()
			}
		}
		if p == "other" {
			continue
		}
		n, sum := m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
		t.Logf("%-9s sent delays: log %d lines, %.3f s; mailwatchd %d, %.3f s", p, sentN[p], sentSum[p], n, sum)
		if int(n) != sentN[p] || math.Abs(sum-sentSum[p]) > 1e-6 {
			t.Errorf("%s: delay histogram count %d sum %v, log %d lines summing %v", p, n, sum, sentN[p], sentSum[p])
		}
		delete(sentN, p)
	}
	for p, n := range sentN {
		t.Errorf("%s: %d sent lines in the log, no delay histogram", p, n)
	}
	got := map[key]int{}
	for _, s := range Samples(mfs, "mailwatch_postfix_provider_deliveries_total") {
		if s.Labels["provider"] != "other" && s.Value != 0 {
			got[key{s.Labels["provider"], s.Labels["status"], s.Labels["reason"]}] += int(s.Value)
		}
	}
	keys := map[key]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var ks []key
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return fmt.Sprint(ks[i]) < fmt.Sprint(ks[j]) })
	for _, k := range ks {
		t.Logf("%-9s %-8s %-10s log %3d mailwatchd %3d", k.provider, k.status, k.reason, want[k], got[k])
		if want[k] != got[k] {
			t.Errorf("%v: log %d, mailwatchd %d", k, want[k], got[k])
		}
	}
	n := env.PlanInt(t, "PROVIDER")
	for k, wantN := range map[key]int{
		{"google", "sent", "none"}: n, {"apple", "sent", "none"}: n,
		{"google", "bounced", "reputation"}: n, {"microsoft", "bounced", "reputation"}: n,
		{"yahoo", "bounced", "reputation"}: n, {"apple", "bounced", "reputation"}: n,
		{"google", "deferred", "reputation"}: 2 * n, {"microsoft", "deferred", "reputation"}: n,
		{"yahoo", "deferred", "reputation"}: n,
	} {
		exact := k.status != "deferred"
		if (exact && want[k] != wantN) || want[k] < wantN {
			t.Errorf("%v: the log has %d, the traffic plan %d", k, want[k], wantN)
		}
	}
}

// rspamdTaskRe is the task line of Rspamd's default log_format (logging.inc): "(default: F
// (no action): [score/required] [symbols])", the metric's verdict (T, F or S for skipped) and
// its action.
var rspamdTaskRe = regexp.MustCompile(`; task; rspamd_task_write_log: .*\(default: [TFS] \(([a-z ]+)\): \[`)

// rspamdStat reads the controller's /stat (loopback, no password from a secure_ip): the
// actions Rspamd counted since it started, as verdict labels ("add header" -> add_header).
func rspamdStat(url string) (map[string]int, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url + "/stat")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/stat: %s: %s", url, resp.Status, b)
	}
	var st struct {
		Actions map[string]float64 `json:"actions"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("GET %s/stat: %v", url, err)
	}
	out := map[string]int{}
	for a, n := range st.Actions {
		out[strings.ReplaceAll(a, " ", "_")] = int(n)
	}
	return out, nil
}

// rspamdMetrics reads rspamd_actions_total{type} from the controller's /metrics, keyed like
// rspamdStat.
func rspamdMetrics(url string) (map[string]int, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", url, resp.Status)
	}
	mfs, err := ParseMetrics(b)
	if err != nil {
		return nil, fmt.Errorf("GET %s/metrics: %v", url, err)
	}
	out := map[string]int{}
	for _, s := range Samples(mfs, "rspamd_actions_total") {
		out[strings.ReplaceAll(s.Labels["type"], " ", "_")] = int(s.Value)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("GET %s/metrics: no rspamd_actions_total", url)
	}
	return out, nil
}

// TestRspamdVerdictsMatchStat: the real Rspamd (the harness's second milter) scanned every
// message of the traffic. Its task lines in its own log file, counted by action, equal what its
// controller's /stat counted since the traffic began, mailwatchd's replay of that log gives the
// same antispam verdicts, and the GTUBE variants the traffic sent got their actions.
func TestRspamdVerdictsMatchStat(t *testing.T) {
	env := LoadEnv(t)
	url, logFile := env.Var("MWH_RSPAMD_URL"), env.Var("MWH_RSPAMD_LOG")
	if url == "" || logFile == "" {
		t.Skip("MWH_RSPAMD_URL/MWH_RSPAMD_LOG not set: the harness has no Rspamd")
	}
	start := map[string]int{}
	for _, kv := range strings.Split(env.Var("MWH_PLAN_RSPAMD_ACTIONS_START"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			start[k], _ = strconv.Atoi(v)
		}
	}
	// Other tests may send mail meanwhile: compare once /stat did not move while the log was read.
	var data []byte
	var fromLog, fromStat map[string]int
	err := Eventually(30*time.Second, func() error {
		before, err := rspamdStat(url)
		if err != nil {
			return err
		}
		data = logSlice(t, env, logFile, "MWH_PLAN_RSPAMD_LOG_OFFSET")
		after, err := rspamdStat(url)
		if err != nil {
			return err
		}
		if fmt.Sprint(before) != fmt.Sprint(after) {
			return fmt.Errorf("rspamd still scanning: /stat %v then %v", before, after)
		}
		fromLog, fromStat = map[string]int{}, map[string]int{}
		for _, l := range strings.Split(string(data), "\n") {
			if m := rspamdTaskRe.FindStringSubmatch(l); m != nil {
				fromLog[strings.ReplaceAll(m[1], " ", "_")]++
			}
		}
		for a, n := range after {
			if d := n - start[a]; d != 0 {
				fromStat[a] = d
			}
		}
		if fmt.Sprint(fromLog) != fmt.Sprint(fromStat) {
			return fmt.Errorf("rspamd's log has %v, its /stat counted %v since the traffic began", fromLog, fromStat)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Rspamd's own Prometheus endpoint (controller /metrics, 3.x) counts the same actions as /stat.
	if err := Eventually(10*time.Second, func() error {
		st, err := rspamdStat(url)
		if err != nil {
			return err
		}
		prom, err := rspamdMetrics(url)
		if err != nil {
			return err
		}
		if fmt.Sprint(st) != fmt.Sprint(prom) {
			return fmt.Errorf("rspamd /stat actions %v, /metrics rspamd_actions_total %v", st, prom)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	mfs := replayFamilies(t, env, data)
	got := map[string]int{}
	for _, s := range Samples(mfs, "mailwatch_antispam_verdicts_total") {
		if s.Labels["scanner"] == "rspamd" && s.Value != 0 {
			got[s.Labels["verdict"]] += int(s.Value)
		}
	}
	t.Logf("rspamd verdicts: log %v, /stat %v, mailwatchd %v", fromLog, fromStat, got)
	if fmt.Sprint(got) != fmt.Sprint(fromLog) {
		t.Errorf("rspamd verdicts: rspamd's log and /stat %v, mailwatchd %v", fromLog, got)
	}
	for verdict, wantN := range map[string]int{
		"reject": env.PlanInt(t, "SPAM_REJECT"), "add_header": env.PlanInt(t, "SPAM_HEADER"),
		"rewrite_subject": env.PlanInt(t, "SPAM_SUBJECT"), "no_action": env.PlanInt(t, "LOCAL"),
	} {
		if fromLog[verdict] < wantN {
			t.Errorf("rspamd %s: %d in its log, the traffic sent at least %d", verdict, fromLog[verdict], wantN)
		}
	}
}
