// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mailwatchd/mailwatchd/test/browser"
)

// The status page at / in Debian's headless Chromium against the real stack (issue #21).

// statusPageServices is serviceSection restricted to Postfix and Dovecot (their entries of
// service.DefaultProcesses).
const statusPageServices = `  service:
    backend: process
    interval: 5s
    timeout: 4s
    processes:
      - {name: postfix, pidfile: /var/spool/postfix/pid/master.pid, comm: master, cmdline: postfix, executable: /usr/lib/postfix/sbin/master}
      - {name: dovecot, pidfile: /run/dovecot/master.pid, comm: dovecot, executable: /usr/sbin/dovecot}
`

// statusPageRow is one row of the status table as Chromium renders it.
type statusPageRow struct{ Status, Area, Item, Value string }

func (r statusPageRow) String() string {
	return fmt.Sprintf("%s %s: %s (%s)", r.Area, r.Item, r.Status, r.Value)
}

// pageRows reads the rendered status table, in page order.
func pageRows(t testing.TB, b *browser.Browser) []statusPageRow {
	t.Helper()
	cells := browser.Eval[[][]string](t, b, `[...document.querySelectorAll("#rows tbody tr")].map(tr => [...tr.cells].map(td => td.innerText.trim()))`)
	var rows []statusPageRow
	for _, c := range cells {
		if len(c) != 4 {
			t.Fatalf("status table row %q: want 4 cells", c)
		}
		rows = append(rows, statusPageRow{c[0], c[1], c[2], c[3]})
	}
	return rows
}

// pageVerdict reloads the page and returns its verdict line and rows.
func pageVerdict(t testing.TB, b *browser.Browser, d *Daemon) (string, []statusPageRow) {
	t.Helper()
	b.Open(t, d.URL+"/")
	return b.Text(t, "#verdict"), pageRows(t, b)
}

// statusJSON fetches /?format=json.
func statusJSON(t testing.TB, d *Daemon) (doc struct {
	Status string     `json:"status"`
	Rows   []CheckRow `json:"rows"`
}) {
	t.Helper()
	res, err := http.Get(d.URL + "/?format=json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /?format=json: %d %v", res.StatusCode, err)
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("GET /?format=json: %v\n%s", err, body)
	}
	return doc
}

// The daemon watching the healthy stack as `mailwatchd check` does (HealthyCheckConfig) shows
// an all-OK page in Chromium with the rows check has for the same configuration, and the JSON
// view says the same.
func TestStatusPageHealthyStack(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	vars := checkVars(t, env)
	d := StartDaemon(t, env, DaemonOptions{Config: HealthyCheckConfig, Vars: vars})
	b := browser.New(t)

	verdict, rows := pageVerdict(t, b, d)
	if !strings.HasPrefix(verdict, "OK: 0 critical, 0 warning, 0 unknown, ") {
		t.Errorf("verdict %q, want OK", verdict)
	}
	if got := browser.Run(t, b, chromedp.Title()); got != "OK · mailwatchd" {
		t.Errorf("title %q", got)
	}
	page := map[[2]string]statusPageRow{}
	for _, r := range rows {
		if r.Status != "OK" {
			t.Errorf("row not OK: %v", r)
		}
		page[[2]string{r.Area, r.Item}] = r
	}
	// Every row check has for the same configuration, with its status.
	res := Check(t, env, WriteConfig(t, env, HealthyCheckConfig, vars))
	for _, c := range res.Rows {
		if r, ok := page[[2]string{c.Area, c.Item}]; !ok || r.Status != c.Status {
			t.Errorf("check has %v; the page %v (found %v)", c, r, ok)
		}
	}
	for _, want := range [][2]string{{"services", "dovecot"}, {"services", "postfix"}, {"certificates", "imaps://127.0.0.1:993"}, {"dns", env.Domain}} {
		if _, ok := page[want]; !ok {
			t.Errorf("no row %s %s", want[0], want[1])
		}
	}
	if doc := statusJSON(t, d); doc.Status != "OK" || len(doc.Rows) != len(rows) {
		t.Errorf("JSON: status %s with %d rows; the page has %d", doc.Status, len(doc.Rows), len(rows))
	}
	if n := browser.Eval[int](t, b, `document.querySelectorAll("#collectors .st.green").length`); n == 0 {
		t.Errorf("no collector shown ok")
	}
	// On a phone, with the real version line, paths and certificate targets: nothing sticks out.
	b.Do(t, browser.Phone(), chromedp.Reload())
	for _, e := range b.Overflowing(t) {
		t.Errorf("on a phone, past the right edge: %s", e)
	}
	b.CheckClean(t)
	if t.Failed() {
		t.Logf("page rows:\n%v\nmailwatchd check:\n%s", rows, res.Table())
	}
}

// A configured path whose name is markup shows as text on the page: no script runs, and the
// storage row names the path exactly.
func TestStatusPageEscapesHostileText(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	base := t.TempDir()
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	// The "/" of "</script>" makes it two directories: the path exists, and is measured.
	hostile := filepath.Join(base, `<script>window.pwned=1;document.title='pwned'</script>`)
	if err := os.MkdirAll(hostile, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := OnlyConfig(map[string]string{"filesystem": `  filesystem:
    interval: 5s
    timeout: 2s
    paths: ["{{.Vars.Hostile}}"]
`})
	d := StartDaemon(t, env, DaemonOptions{Config: cfg, Vars: map[string]string{"Hostile": hostile}})
	b := browser.New(t)

	_, rows := pageVerdict(t, b, d)
	found := false
	for _, r := range rows {
		if r.Area == "storage" && r.Item == hostile {
			found = true
		}
	}
	if !found {
		t.Errorf("no storage row shows %q as text; rows: %v", hostile, rows)
	}
	if pwned := browser.Eval[bool](t, b, `window.pwned !== undefined || document.title === 'pwned'`); pwned {
		t.Error("the path's script ran")
	}
	if n := browser.Eval[int](t, b, `document.querySelectorAll("script").length`); n != 0 {
		t.Errorf("%d script elements in the page", n)
	}
	b.CheckClean(t)
}

// Dovecot stops: the page turns CRIT with the Dovecot row first; once the harness starts it
// again, the row is OK again.
//
// Not parallel, like TestDovecotDown: no other test may see the stack without Dovecot. The
// daemon watches Postfix and Dovecot only, with Debian's pidfiles and names, and no log (no
// TLS endpoint: see TestDovecotDown on the submission ports), so that every row but Dovecot's
// stays OK whatever else is installed on the machine.
func TestStatusPageDovecotDown(t *testing.T) {
	env := LoadEnv(t)
	d := StartDaemon(t, env, DaemonOptions{Config: OnlyConfig(map[string]string{"service": statusPageServices}) + "logs:\n  sources: []\n"})
	b := browser.New(t)

	dovecotRow := func(rows []statusPageRow) (statusPageRow, bool) {
		for _, r := range rows {
			if r.Area == "services" && r.Item == "dovecot" {
				return r, true
			}
		}
		return statusPageRow{}, false
	}
	verdict, rows := pageVerdict(t, b, d)
	if r, ok := dovecotRow(rows); !ok || r.Status != "OK" || r.Value != "active" || !strings.HasPrefix(verdict, "OK:") {
		t.Fatalf("before the stop: verdict %q, Dovecot %v (found %v)", verdict, r, ok)
	}

	restart := env.StopService(t, "dovecot")
	// The service collector runs every 5 s; the page shows its last snapshot.
	err := Eventually(30*time.Second, func() error {
		verdict, rows = pageVerdict(t, b, d)
		if !strings.HasPrefix(verdict, "CRIT:") {
			return fmt.Errorf("verdict %q", verdict)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("page with Dovecot stopped: %v", err)
	}
	if len(rows) == 0 || rows[0].Area != "services" || rows[0].Item != "dovecot" || rows[0].Status != "CRIT" || rows[0].Value != "inactive" {
		t.Errorf("first row %v, want Dovecot CRIT inactive (worst first); rows %v", rows[0], rows)
	}
	if got := browser.Eval[string](t, b, `getComputedStyle(document.querySelector("#rows tbody tr .st")).backgroundColor`); got != "rgb(207, 34, 46)" {
		t.Errorf("CRIT badge colour %s, want red", got)
	}
	if got := browser.Run(t, b, chromedp.Title()); got != "CRIT · mailwatchd" {
		t.Errorf("title %q", got)
	}
	// Postfix, and the log pipeline's (empty) error counts.
	for _, r := range rows[1:] {
		if r.Status != "OK" {
			t.Errorf("row not caused by Dovecot: %v", r)
		}
	}
	if doc := statusJSON(t, d); doc.Status != "CRIT" || len(doc.Rows) == 0 || doc.Rows[0].Item != "dovecot" {
		t.Errorf("JSON with Dovecot stopped: %+v", doc)
	}

	restart()
	err = Eventually(30*time.Second, func() error {
		_, rows = pageVerdict(t, b, d)
		if r, ok := dovecotRow(rows); !ok || r.Status != "OK" || r.Value != "active" {
			return fmt.Errorf("Dovecot %v", r)
		}
		return nil
	})
	if err != nil {
		t.Errorf("page after Dovecot started again: %v", err)
	}
	b.CheckClean(t)
}
