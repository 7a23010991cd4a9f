// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// gather returns the families of a collector by name.
func gather(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// sumBy adds up a counter family's samples by the value of one label.
func sumBy(mf *dto.MetricFamily, label string) map[string]float64 {
	out := map[string]float64{}
	if mf == nil {
		return out
	}
	for _, m := range mf.GetMetric() {
		out[labelsOf(m)[label]] += m.GetCounter().GetValue()
	}
	return out
}

// statusLine is what grep sees of a Postfix recipient status line.
var statusLine = regexp.MustCompile(`^[0-9A-Za-z]+: to=<.*, relay=.*, delay=([0-9.]+), delays=[0-9./]+, .*status=(sent|deferred|bounced) `)

// corpusMessages returns (syslog tag, message) of every corpus line, JSON
// journal records included, without the pipeline's parser.
func corpusMessages(t *testing.T) (tags, msgs []string) {
	t.Helper()
	files, _ := filepath.Glob("testdata/corpus/*.log")
	syslog := regexp.MustCompile(`(?:^|\s)(\S+?)\[\d+\]: (.*)$`) // the first "tag[pid]: "
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "{") {
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) == nil {
					tag, _ := rec["SYSLOG_IDENTIFIER"].(string)
					msg, _ := rec["MESSAGE"].(string)
					tags, msgs = append(tags, tag), append(msgs, msg)
				}
				continue
			}
			if m := syslog.FindStringSubmatch(line); m != nil {
				tags, msgs = append(tags, m[1]), append(msgs, m[2])
			}
		}
	}
	return tags, msgs
}

func replayCorpus(t *testing.T, cfg Config) *Replayer {
	t.Helper()
	r, err := NewReplayer(cfg, "corpus")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/corpus/*.log")
	for _, f := range files {
		in, err := OpenInput(f)
		if err != nil {
			t.Fatal(err)
		}
		err = r.Feed(context.Background(), in)
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestDeliveryCountsMatchTheLog: on the whole corpus, the histogram's
// _count per status is the number of status= recipient lines grep finds
// and its _sum the sum of their delay= values; the delivery and provider
// counters and pflogsumm's actions say the same.
func TestDeliveryCountsMatchTheLog(t *testing.T) {
	tags, msgs := corpusMessages(t)
	wantCount := map[string]float64{}
	wantSum := map[string]float64{}
	wantTransport := map[string]float64{}
	expired := 0.0
	for i, msg := range msgs {
		tag := tags[i]
		if strings.Contains(msg, ", status=expired, returned to sender") || strings.Contains(msg, ", status=force-expired, returned to sender") {
			expired++
		}
		m := statusLine.FindStringSubmatch(msg)
		if m == nil || strings.HasSuffix(tag, "/smtpd") || strings.HasSuffix(tag, "/postscreen") {
			continue
		}
		d, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		wantCount[m[2]]++
		wantSum[m[2]] += d
		wantTransport[tag[strings.LastIndexByte(tag, '/')+1:]]++
	}
	if wantCount["sent"] == 0 || wantCount["deferred"] == 0 || wantCount["bounced"] == 0 || expired == 0 {
		t.Fatalf("the corpus lacks a status: %v, expired %v", wantCount, expired)
	}

	cfg := Config{}
	cfg.ApplyDefaults()
	mfs := gather(t, replayCorpus(t, cfg))
	gotCount, gotSum := map[string]float64{}, map[string]float64{}
	for _, m := range mfs["mailwatch_postfix_delivery_delay_seconds"].GetMetric() {
		h := m.GetHistogram()
		st := labelsOf(m)["status"]
		gotCount[st] += float64(h.GetSampleCount())
		gotSum[st] += h.GetSampleSum()
		if b := h.GetBucket(); b[len(b)-1].GetCumulativeCount() > h.GetSampleCount() {
			t.Errorf("%v: last bucket over the count", labelsOf(m))
		}
	}
	for st, n := range wantCount {
		if gotCount[st] != n {
			t.Errorf("%s: _count %v, grep %v", st, gotCount[st], n)
		}
		if math.Abs(gotSum[st]-wantSum[st]) > 1e-6 {
			t.Errorf("%s: _sum %v, grep %v", st, gotSum[st], wantSum[st])
		}
	}
	deliveries := sumBy(mfs["mailwatch_postfix_deliveries_total"], "status")
	providers := sumBy(mfs["mailwatch_postfix_provider_deliveries_total"], "status")
	actions := sumBy(mfs["mailwatch_postfix_messages_total"], "action")
	for st, n := range wantCount {
		if deliveries[st] != n || providers[st] != n {
			t.Errorf("%s: deliveries_total %v, provider_deliveries_total %v, grep %v", st, deliveries[st], providers[st], n)
		}
	}
	if deliveries["expired"] != expired || actions["expired"] != expired || providers["expired"] != 0 {
		t.Errorf("expired: deliveries %v, messages %v, providers %v; grep %v", deliveries["expired"], actions["expired"], providers["expired"], expired)
	}
	if actions["delivered"]+actions["forwarded"] != wantCount["sent"] || actions["deferred"] != wantCount["deferred"] ||
		actions["bounced"] != wantCount["bounced"] {
		t.Errorf("pflogsumm's actions %v disagree with the status lines %v", actions, wantCount)
	}
	byTransport := sumBy(mfs["mailwatch_postfix_deliveries_total"], "transport")
	byTransport["other"] -= expired // qmgr's expired lines
	for tr, n := range wantTransport {
		if byTransport[tr] != n {
			t.Errorf("transport %s: %v, grep %v", tr, byTransport[tr], n)
		}
	}
	// Every recipient line's delays= parts add up in the stage counter.
	var stages float64
	for _, m := range mfs["mailwatch_postfix_delivery_delay_stage_seconds_total"].GetMetric() {
		stages += m.GetCounter().GetValue()
	}
	var wantStages float64
	parts := regexp.MustCompile(`, delays=([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+), `)
	for i, msg := range msgs {
		if statusLine.MatchString(msg) && !strings.HasSuffix(tags[i], "/smtpd") {
			for _, p := range parts.FindStringSubmatch(msg)[1:] {
				v, _ := strconv.ParseFloat(p, 64)
				wantStages += v
			}
		}
	}
	if math.Abs(stages-wantStages) > 1e-6 {
		t.Errorf("stage seconds %v, grep %v", stages, wantStages)
	}
}

// deliveryLine writes a recipient status line.
func deliveryLine(ts, daemon, rcpt, relay, delay, status, reply string) string {
	return ts + " mx1 postfix/" + daemon + "[1]: 0B1C2D3E4F: to=<" + rcpt + ">, relay=" + relay + ", delay=" + delay +
		", delays=0.1/0/0/0, dsn=2.0.0, status=" + status + " (" + reply + ")\n"
}

func TestDeliveryDelayBuckets(t *testing.T) {
	var in strings.Builder
	for _, d := range []string{"0", "0.1", "0.100001", "1", "60", "432000", "432001"} {
		in.WriteString(deliveryLine("Nov 23 07:00:00", "smtp", "a@example.org", "mx.example.org[192.0.2.1]:25", d, "sent", "250 ok"))
	}
	r := mustReplayer(t, Config{}, in.String())
	err := testutil.CollectAndCompare(r, strings.NewReader(`
# HELP mailwatch_postfix_delivery_delay_seconds Postfix delivery delays (delay=: from the message's arrival to the end of the attempt), one observation per recipient status= line, by delivering daemon and status. Expired messages carry no delay and are not observed.
# TYPE mailwatch_postfix_delivery_delay_seconds histogram
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="0.1"} 2
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="0.25"} 3
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="0.5"} 3
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="1"} 4
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="2.5"} 4
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="5"} 4
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="10"} 4
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="30"} 4
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="60"} 5
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="300"} 5
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="900"} 5
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="3600"} 5
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="14400"} 5
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="86400"} 5
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="432000"} 6
mailwatch_postfix_delivery_delay_seconds_bucket{status="sent",transport="smtp",le="+Inf"} 7
mailwatch_postfix_delivery_delay_seconds_sum{status="sent",transport="smtp"} 864062.200001
mailwatch_postfix_delivery_delay_seconds_count{status="sent",transport="smtp"} 7
`), "mailwatch_postfix_delivery_delay_seconds")
	if err != nil {
		t.Error(err)
	}
}

// TestDeliveryMetricsLint: the delivery families pass the client library's
// lint and, when promtool is installed, `promtool check metrics`.
func TestDeliveryMetricsLint(t *testing.T) {
	cfg := Config{}
	cfg.ApplyDefaults()
	r := replayCorpus(t, cfg)
	in := deliveryLine("Nov 23 07:00:00", "smtp", "a@gmail.com", "gmail-smtp-in.l.google.com[142.250.1.27]:25", "1.2", "sent", "250 ok") +
		deliveryLine("Nov 23 07:00:01", "smtp", "b@yahoo.com", "mta7.am0.yahoodns.net[67.195.204.72]:25", "2", "deferred",
			"host mta7.am0.yahoodns.net[67.195.204.72] said: 421 4.7.0 [TSS04] Messages from 198.51.100.7 temporarily deferred due to user complaints")
	if err := r.Feed(context.Background(), strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
	var out bytes.Buffer
	if err := r.WritePrometheus(&out); err != nil {
		t.Fatal(err)
	}
	for _, family := range []string{"mailwatch_postfix_delivery_delay_seconds_bucket", "mailwatch_postfix_deliveries_total{",
		"mailwatch_postfix_delivery_delay_stage_seconds_total{", `mailwatch_postfix_provider_deliveries_total{provider="yahoo",reason="reputation",status="deferred"} 1`,
		`mailwatch_postfix_provider_last_sent_timestamp_seconds{provider="google"}`} {
		if !strings.Contains(out.String(), family) {
			t.Errorf("exposition lacks %s", family)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &out
	if res, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, res)
	}
}

// TestProviderLastSent: the time written in the last sent line per
// provider; deferrals do not move it, and it never goes back.
func TestProviderLastSent(t *testing.T) {
	cfg := Config{}
	cfg.ApplyDefaults()
	gmail := func(ts, status string) string {
		return deliveryLine(ts, "smtp", "a@gmail.com", "gmail-smtp-in.l.google.com[142.250.1.27]:25", "1", status, "host x said: 451 try again later")
	}
	r := mustReplayer(t, cfg, gmail("2026-11-23T07:00:01Z", "sent")+gmail("2026-11-23T07:00:05Z", "sent")+
		gmail("2026-11-23T07:00:09Z", "deferred")+
		deliveryLine("2026-11-23T07:00:02Z", "lmtp", "d@example.org", "mail.example.org[private/dovecot-lmtp]", "0.1", "sent", "250 ok"))
	if err := r.Feed(context.Background(), strings.NewReader(gmail("2026-11-23T06:00:00Z", "sent"))); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{
		"google": time.Date(2026, 11, 23, 7, 0, 5, 0, time.UTC),
		"other":  time.Date(2026, 11, 23, 7, 0, 2, 0, time.UTC),
	}
	for name, pc := range r.counters.providers {
		got := math.Float64frombits(pc.lastSent.Load())
		if w, ok := want[name]; ok != (got != 0) || ok && got != float64(w.Unix()) {
			t.Errorf("%s: last sent %v, want %v", name, got, w)
		}
	}
}

// TestDeliveryStateSurvivesRestart: the delivery counters, histogram
// buckets and sums, and provider series are saved with the positions and
// continue after a restart, nothing lost or counted twice.
func TestDeliveryStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	path := filepath.Join(dir, "mail.log")
	gmail := func(ts, delay string) string {
		return deliveryLine(ts, "smtp", "a@gmail.com", "gmail-smtp-in.l.google.com[142.250.1.27]:25", delay, "sent", "250 ok")
	}
	deferred := deliveryLine("2026-11-23T07:00:03Z", "smtp", "b@outlook.com", "outlook-com.olc.protection.outlook.com[52.101.1.1]:25", "0.9", "deferred",
		"host outlook-com.olc.protection.outlook.com[52.101.1.1] said: 451 4.7.650 The mail server [198.51.100.7] has been temporarily rate limited due to IP reputation.")
	appendFile(t, path, gmail("2026-11-23T07:00:01Z", "1.5")+deferred)
	h := start(t, testConfig(path), state)
	h.wantLines(2)
	h.stop()

	b, err := os.ReadFile(filepath.Join(state, stateFileName))
	if err != nil {
		t.Fatal(err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	c := st.Counters
	if c.Deliveries["smtp/sent/none"] != 1 || c.Deliveries["smtp/deferred/reputation"] != 1 ||
		c.Delay["smtp/sent"].SumUS != 1_500_000 || c.Providers["google"].Deliveries["sent/none"] != 1 ||
		c.Providers["microsoft"].Deliveries["deferred/reputation"] != 1 || c.Providers["google"].LastSent == 0 ||
		c.DelayStagesUS["before_queue_manager"] != 200_000 || len(c.DelayBounds) != len(delayBuckets) ||
		c.Providers["google"].SentDelay == nil || c.Providers["google"].SentDelay.SumUS != 1_500_000 ||
		c.Providers["microsoft"].SentDelay != nil {
		t.Fatalf("state %s", b)
	}

	appendFile(t, path, gmail("2026-11-23T07:00:05Z", "700000"))
	h = start(t, testConfig(path), state)
	h.wantLines(3)
	mfs := gather(t, h.p)
	for _, m := range mfs["mailwatch_postfix_delivery_delay_seconds"].GetMetric() {
		l, hist := labelsOf(m), m.GetHistogram()
		if l["status"] != "sent" {
			continue
		}
		b := hist.GetBucket()
		if hist.GetSampleCount() != 2 || hist.GetSampleSum() != 700001.5 || b[3].GetCumulativeCount() != 0 ||
			b[4].GetCumulativeCount() != 1 || b[len(b)-1].GetCumulativeCount() != 1 {
			t.Errorf("sent histogram after restart: %v", hist)
		}
	}
	if got := sumBy(mfs["mailwatch_postfix_deliveries_total"], "status"); got["sent"] != 2 || got["deferred"] != 1 {
		t.Errorf("deliveries after restart: %v", got)
	}
	// The provider's sent delays: both gmail lines, kept across the restart;
	// the deferred Microsoft line is no observation.
	var providers []string
	for _, m := range mfs["mailwatch_postfix_provider_delivery_delay_seconds"].GetMetric() {
		l, hist := labelsOf(m), m.GetHistogram()
		providers = append(providers, l["provider"])
		if l["provider"] == "google" && (hist.GetSampleCount() != 2 || hist.GetSampleSum() != 700001.5) {
			t.Errorf("google's delay histogram after restart: %v", hist)
		}
	}
	if !slices.Equal(providers, []string{"google"}) {
		t.Errorf("provider delay histograms for %v, want google only", providers)
	}
	if got := sumBy(mfs["mailwatch_postfix_provider_deliveries_total"], "provider"); got["google"] != 2 || got["microsoft"] != 1 {
		t.Errorf("provider deliveries after restart: %v", got)
	}
	for _, m := range mfs["mailwatch_postfix_provider_last_sent_timestamp_seconds"].GetMetric() {
		if labelsOf(m)["provider"] == "google" && m.GetGauge().GetValue() != float64(time.Date(2026, 11, 23, 7, 0, 5, 0, time.UTC).Unix()) {
			t.Errorf("google last sent %v", m.GetGauge().GetValue())
		}
	}
	h.stop()

	// Another bucket layout (an older or newer version) drops the histogram
	// only; a provider no longer configured is dropped, the others kept.
	st.Counters.DelayBounds = []float64{1, 2}
	cs := newCounters()
	cfg := Config{Providers: []ProviderConfig{{Name: "google", RelaySuffixes: []string{"google.com"}}}}
	if _, err := cs.newRuleSet(nil, cfg.Providers, cfg.Services); err != nil {
		t.Fatal(err)
	}
	cs.restore(st.Counters)
	if n := cs.delivery.delay[maillog.TransportSMTP][maillog.StatusSent].buckets[3].Load(); n != 0 {
		t.Errorf("histogram restored across bucket layouts: %d", n)
	}
	if n := cs.delivery.deliveries[maillog.TransportSMTP][maillog.StatusSent][maillog.DRNone].Load(); n != 1 {
		t.Errorf("deliveries = %d, want 1", n)
	}
	if _, ok := cs.providers["microsoft"]; ok || cs.providers["google"].deliveries[maillog.StatusSent][maillog.DRNone].Load() != 1 {
		t.Errorf("providers after restore: %v", cs.providers)
	}
}

// TestApplyProviders: a reload keeps the series of providers still
// configured, drops removed ones and starts new ones at 0.
func TestApplyProviders(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, deliveryLine("2026-11-23T07:00:01Z", "smtp", "a@gmail.com", "gmail-smtp-in.l.google.com[1.2.3.4]:25", "1", "sent", "250 ok")+
		deliveryLine("2026-11-23T07:00:02Z", "smtp", "b@yahoo.com", "mta5.am0.yahoodns.net[1.2.3.4]:25", "1", "sent", "250 ok"))
	h := start(t, testConfig(path), "")
	h.wantLines(2)
	cfg := testConfig(path)
	cfg.Providers = []ProviderConfig{
		{Name: "google", RelaySuffixes: []string{"google.com"}},
		{Name: "corp", RecipientDomainSuffixes: []string{"corp.example"}},
	}
	if err := h.p.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, deliveryLine("2026-11-23T07:00:03Z", "smtp", "c@corp.example", "mx.corp.example[1.2.3.4]:25", "1", "sent", "250 ok"))
	h.poll()
	got := sumBy(gather(t, h.p)["mailwatch_postfix_provider_deliveries_total"], "provider")
	if len(got) != 2 || got["google"] != 1 || got["corp"] != 1 {
		t.Errorf("provider deliveries after Apply = %v, want google 1 (kept), corp 1 (new), yahoo gone", got)
	}
}
