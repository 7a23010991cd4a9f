// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package web

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/scheduler"
)

const hostile = `/srv/<script>document.title="pwned"</script>&"'`

// fsError is the failing collector's error: hostile text, and a word too
// long for a phone's width.
var fsError = "statfs " + hostile + ": <timeout> " + strings.Repeat("0123456789", 12)

// statusOptions are the options of a daemon with one failing filesystem
// path whose name is hostile, one queue row and one healthy service.
func statusOptions() Options {
	now := time.Now()
	return Options{
		Gatherer: prometheus.NewRegistry(),
		Logger:   zap.NewNop(),
		Statuses: func() []scheduler.Status {
			return []scheduler.Status{
				{Name: "filesystem", Runs: 4, Failures: 1, Success: false, LastRun: now.Add(-3 * time.Second), LastSuccess: now.Add(-time.Minute), Duration: 1500 * time.Millisecond, LastError: fsError},
				{Name: "service", Runs: 9, Success: true, LastRun: now.Add(-2 * time.Second), LastSuccess: now.Add(-2 * time.Second), Duration: 20 * time.Millisecond},
				{Name: "certs", Running: true},
			}
		},
		Verdict: func() Verdict {
			return Verdict{Status: "CRIT", Color: "red", Summary: "CRIT: 1 critical, 1 warning, 0 unknown, 1 ok - dovecot inactive", Rows: []StatusRow{
				{Area: "services", Item: "dovecot", Value: "inactive", Status: "CRIT", Color: "red"},
				{Area: "storage", Item: hostile, Value: "cannot measure (absent or hung)", Status: "WARN", Color: "yellow"},
				{Area: "services", Item: "postfix", Value: "active", Status: "OK", Color: "green"},
			}}
		},
	}
}

func request(t *testing.T, h http.Handler, method, target string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

func body(t *testing.T, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	res := request(t, h, "GET", target)
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestStatusPageHTML(t *testing.T) {
	t.Parallel()
	res, page := body(t, NewHandler(statusOptions()), "/")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// Hostile text is text: escaped wherever it appears, and the page has
	// no script element at all.
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Errorf("page contains a script element:\n%s", page)
	}
	esc := `/srv/&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;&amp;&#34;&#39;`
	if n := strings.Count(page, esc); n != 2 { // the storage row and the collector's error
		t.Errorf("escaped hostile path appears %d times, want 2:\n%s", n, page)
	}
	for _, want := range []string{
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<meta http-equiv="refresh" content="30">`,
		`<title>CRIT · mailwatchd</title>`,
		`<p class="banner red" id="verdict">CRIT: 1 critical, 1 warning, 0 unknown, 1 ok - dovecot inactive</p>`,
		`<span class="st red">CRIT</span></td><td data-label="area">services</td><td data-label="item">dovecot</td><td data-label="value">inactive</td>`,
		`<span class="st yellow">WARN</span>`,
		`<span class="st green">OK</span></td><td data-label="area">services</td><td data-label="item">postfix</td>`,
		`<td>filesystem</td><td data-label="status"><span class="st yellow">failing</span></td>`,
		`<td data-label="last run">3s ago</td><td data-label="duration">1.500 s</td><td data-label="runs">4</td><td data-label="failures">1</td>`,
		`<td>certs</td><td data-label="status">pending</td>`,
		`<a href="/metrics">Metrics</a>`, `<a href="/?format=json">JSON</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// Rows keep the verdict's order (worst first).
	if i, j, k := strings.Index(page, ">CRIT</span>"), strings.Index(page, ">WARN</span>"), strings.Index(page, ">OK</span>"); i >= j || j >= k {
		t.Errorf("rows not in the verdict's order: CRIT at %d, WARN at %d, OK at %d", i, j, k)
	}
	// Sections nothing provides are not shown, not faked.
	for _, absent := range []string{"Maintenance", "SASL"} {
		if strings.Contains(page, absent) {
			t.Errorf("page shows a %s section though nothing provides it", absent)
		}
	}
	// No external asset: every reference is local or an inline data: URL.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
			if m[1] != "data:," {
				t.Errorf("reference to %q: not local", m[1])
			}
		}
	}
	// The policy allows exactly the page's style sheet, by its hash.
	css := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	if css == nil {
		t.Fatal("no style element")
	}
	sum := sha256.Sum256([]byte(css[1]))
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || !strings.HasPrefix(csp, "default-src 'none';") {
		t.Errorf("Content-Security-Policy %q does not allow exactly the inline style sheet", csp)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
	}
}

func TestStatusPageJSON(t *testing.T) {
	t.Parallel()
	o := statusOptions()
	res, text := body(t, NewHandler(o), "/?format=json")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /?format=json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, k := range []string{"maintenance", "top_sasl_senders"} {
		if _, ok := doc[k]; ok {
			t.Errorf("%s present though nothing provides it", k)
		}
	}
	if _, err := time.Parse(time.RFC3339, doc["time"].(string)); err != nil {
		t.Errorf("time: %v", err)
	}
	var got struct {
		Status, Summary string
		Rows            []map[string]string
		Collectors      []map[string]any
	}
	if err := json.Unmarshal([]byte(text), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != "CRIT" || got.Summary != o.Verdict().Summary {
		t.Errorf("status %q, summary %q", got.Status, got.Summary)
	}
	wantRows := []map[string]string{
		{"area": "services", "item": "dovecot", "value": "inactive", "status": "CRIT"},
		{"area": "storage", "item": hostile, "value": "cannot measure (absent or hung)", "status": "WARN"},
		{"area": "services", "item": "postfix", "value": "active", "status": "OK"},
	}
	if diff := cmp.Diff(wantRows, got.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if len(got.Collectors) != 3 {
		t.Fatalf("collectors: %v", got.Collectors)
	}
	fs, pending := got.Collectors[0], got.Collectors[2]
	if fs["name"] != "filesystem" || fs["state"] != "failing" || fs["runs"] != 4.0 || fs["failures"] != 1.0 || fs["duration_seconds"] != 1.5 ||
		fs["last_error"] != fsError || fs["last_run"] == nil || fs["last_success"] == nil {
		t.Errorf("filesystem collector: %v", fs)
	}
	if pending["name"] != "certs" || pending["state"] != "pending" || pending["last_run"] != nil || pending["runs"] != 0.0 {
		t.Errorf("pending collector: %v", pending)
	}
}

// When something provides them, the maintenance state and the top SASL
// senders are shown (escaped) and in the JSON; an empty list is shown as such.
func TestStatusPageProvidedSections(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	o := statusOptions()
	o.Maintenance = func() *Maintenance { return &Maintenance{Active: true, Reason: "<b>disk swap</b>", Until: until} }
	senders := []SASLSender{{Rank: 1, User: "<i>alice</i>@example.org", Messages: 4200, ClientIPs: 37}}
	o.TopSASLSenders = func() []SASLSender { return senders }
	h := NewHandler(o)
	_, page := body(t, h, "/")
	for _, want := range []string{
		`<p id="maintenance">In maintenance until 2026-12-06 10:00 UTC: &lt;b&gt;disk swap&lt;/b&gt;</p>`,
		`<td>1</td><td data-label="user">&lt;i&gt;alice&lt;/i&gt;@example.org</td><td data-label="messages">4200</td><td data-label="client IPs">37</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s\n%s", want, page)
		}
	}
	_, text := body(t, h, "/?format=json")
	var doc struct {
		Maintenance    *Maintenance `json:"maintenance"`
		TopSASLSenders []SASLSender `json:"top_sasl_senders"`
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Maintenance == nil || !doc.Maintenance.Until.Equal(until) || doc.Maintenance.Reason != "<b>disk swap</b>" || !cmp.Equal(doc.TopSASLSenders, senders) {
		t.Errorf("JSON sections: %s", text)
	}

	senders = nil
	if _, page := body(t, h, "/"); !strings.Contains(page, "no authenticated sender in the window") {
		t.Errorf("an empty top-senders list is not shown as empty")
	}
	if _, text := body(t, h, "/?format=json"); !strings.Contains(text, `"top_sasl_senders": []`) {
		t.Errorf("an empty top-senders list is not [] in the JSON:\n%s", text)
	}
}

func TestStatusPageRequests(t *testing.T) {
	t.Parallel()
	h := NewHandler(statusOptions())
	for _, c := range []struct {
		method, target string
		code           int
	}{
		{"GET", "/?format=html", 200},
		{"HEAD", "/", 200},
		{"GET", "/?format=xml", 400},
		{"POST", "/", 405},
		{"GET", "/index.html", 404},
		{"GET", "/favicon.ico", 204},
	} {
		if res := request(t, h, c.method, c.target); res.StatusCode != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.target, res.StatusCode, c.code)
		}
	}
	// Without a verdict the page says that nothing judges, rather than OK.
	o := statusOptions()
	o.Verdict = nil
	if _, page := body(t, NewHandler(o), "/"); !strings.Contains(page, `<p class="banner magenta" id="verdict">UNKNOWN: no status rules are wired to this page</p>`) {
		t.Errorf("page without a verdict:\n%s", page)
	}
}

// At most n status requests are judged at once; one more waits for a slot
// and gets 503 when none frees in time.
func TestStatusPageBoundsConcurrentRequests(t *testing.T) {
	t.Parallel()
	o := statusOptions()
	entered := make(chan struct{})
	release := make(chan struct{})
	verdict := o.Verdict
	o.Verdict = func() Verdict {
		entered <- struct{}{}
		<-release
		return verdict()
	}
	h := limitStatus(o, 2, 50*time.Millisecond)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Go(func() { codes[i] = request(t, h, "GET", "/").StatusCode })
		<-entered
	}
	if res := request(t, h, "GET", "/"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("third request while two are judged: %d, want 503", res.StatusCode)
	}
	close(release)
	wg.Wait()
	if codes[0] != 200 || codes[1] != 200 {
		t.Errorf("the two admitted requests: %v", codes)
	}
	go func() { <-entered }()
	if res := request(t, h, "GET", "/"); res.StatusCode != 200 {
		t.Errorf("request after the others ended: %d", res.StatusCode)
	}
}
