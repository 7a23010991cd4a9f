// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package web

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mailwatchd/mailwatchd/test/browser"
)

// The status page in a real headless Chromium: check's colours, worst
// first, hostile text as text with no script run, usable at a phone's
// width, the JSON view, and no console error or non-loopback request.
//
// Not parallel: Go runs it, and ends the browser, before the parallel tests
// resume, so Chromium's start takes no CPU from their bcrypt and timing.
func TestStatusPageInChromium(t *testing.T) {
	b := browser.New(t)
	srv := httptest.NewServer(NewHandler(statusOptions()))
	t.Cleanup(srv.Close)

	b.Open(t, srv.URL+"/")
	if got := browser.Run(t, b, chromedp.Title()); got != "CRIT · mailwatchd" {
		t.Errorf("title %q: a script ran, or the verdict is missing", got)
	}
	if n := browser.Eval[int](t, b, `document.querySelectorAll("script").length`); n != 0 {
		t.Errorf("%d script elements in the page", n)
	}
	if got, want := b.Text(t, "#rows tbody tr:nth-child(2) td:nth-child(3)"), hostile; got != want {
		t.Errorf("hostile path shows as %q, want the text %q", got, want)
	}
	if got := b.Text(t, "#verdict"); got != statusOptions().Verdict().Summary {
		t.Errorf("verdict %q", got)
	}
	statuses := browser.Eval[[]string](t, b, `[...document.querySelectorAll("#rows .st")].map(e => e.textContent)`)
	if len(statuses) != 3 || statuses[0] != "CRIT" || statuses[1] != "WARN" || statuses[2] != "OK" {
		t.Errorf("statuses in page order: %v, want worst first", statuses)
	}
	// The colours as rendered (check.Color: red, yellow, green), and CRIT bold.
	style := func(sel, prop string) string {
		return browser.Eval[string](t, b, `getComputedStyle(document.querySelector(`+quoteJS(sel)+`)).`+prop)
	}
	for sel, want := range map[string]string{
		"#rows .st.red":    "rgb(207, 34, 46)",
		"#rows .st.yellow": "rgb(154, 103, 0)",
		"#rows .st.green":  "rgb(26, 127, 55)",
		"#verdict":         "rgb(207, 34, 46)",
	} {
		if got := style(sel, "backgroundColor"); got != want {
			t.Errorf("%s background %s, want %s", sel, got, want)
		}
	}
	if got := style("#rows .st.red", "fontWeight"); got != "800" {
		t.Errorf("CRIT font weight %s, want 800 (bold, as in the terminal)", got)
	}

	// A phone: no sideways scrolling, rows stacked with their labels.
	b.Do(t, browser.Phone(), chromedp.Reload())
	if w := browser.Eval[[]int](t, b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		t.Errorf("page %d px wide in a %d px viewport", w[0], w[1])
	}
	for _, e := range b.Overflowing(t) {
		t.Errorf("on a phone, past the right edge: %s", e)
	}
	if got := style("#rows thead", "display"); got != "none" {
		t.Errorf("table head on a phone: display %s, want none", got)
	}
	cell := `document.querySelector("#rows tbody tr:nth-child(1) td:nth-child(3)")`
	if got := browser.Eval[[]string](t, b, `[getComputedStyle(`+cell+`).display, getComputedStyle(`+cell+`, "::before").content]`); got[0] != "block" || got[1] == "none" {
		t.Errorf("first row's item cell on a phone: display %s, label %s; want a block with its label", got[0], got[1])
	}

	// The JSON view of the same data.
	b.Open(t, srv.URL+"/?format=json")
	var doc struct {
		Status string
		Rows   []StatusRow
	}
	if err := json.Unmarshal([]byte(browser.Eval[string](t, b, `document.body.innerText`)), &doc); err != nil || doc.Status != "CRIT" || len(doc.Rows) != 3 || doc.Rows[1].Item != hostile {
		t.Errorf("JSON in the browser: %v %+v", err, doc)
	}
	b.CheckClean(t)
}

func quoteJS(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
