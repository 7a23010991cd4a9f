// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/buildinfo"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
)

// StatusRow is one row of the `mailwatchd check` table as the status page
// shows it. The web layer sits below internal/check, so the daemon turns
// check's rows into these (see Options.Verdict).
type StatusRow struct {
	Area   string `json:"area"`
	Item   string `json:"item"`
	Value  string `json:"value"`
	Status string `json:"status"` // OK, WARN, CRIT or UNKNOWN
	// Color is the row's colour as check.Color names it: green, yellow,
	// red or magenta, the colours of `mailwatchd check`'s table.
	Color string `json:"-"`
}

// Verdict is check's judgement of the daemon's current metrics: the overall
// status, check's one-line summary and the rows, worst first.
type Verdict struct {
	Status  string
	Color   string
	Summary string
	Rows    []StatusRow
}

// Maintenance is the host's maintenance state, for the page's section of
// that name: the window of `mailwatchd maintenance start`; nil (the section
// left out) when none is set.
type Maintenance struct {
	Active bool      `json:"active"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
}

// SASLSender is one line of the page's "top SASL senders" section: the
// names behind the rank slots of issue #18's metrics, which never carry
// them as labels. The daemon fills them from the log pipeline's SASL
// tracker (cmd/mailwatchd/sasl.go); the page shows the section whenever
// that source is set, with a "no authenticated sender" line while the
// window is empty.
type SASLSender struct {
	Rank      int    `json:"rank"`
	User      string `json:"user"`
	Messages  int    `json:"messages"`
	ClientIPs int    `json:"client_ips"`
}

// statusRefresh is the page's auto-refresh (a meta refresh, no script).
const statusRefresh = 30 * time.Second

// A status request gathers every series once and judges them: cheap, but
// not free, so at most maxStatusInFlight run at once; the others wait their
// turn for up to statusQueueWait, then get 503.
const (
	maxStatusInFlight = 2
	statusQueueWait   = 5 * time.Second
)

// statusDoc is the page's data, and the document of `/?format=json`.
type statusDoc struct {
	Version        string          `json:"version"`
	Time           time.Time       `json:"time"`
	Status         string          `json:"status"`
	Summary        string          `json:"summary"`
	Rows           []StatusRow     `json:"rows"`
	Collectors     []collectorView `json:"collectors"`
	Maintenance    *Maintenance    `json:"maintenance,omitzero"`
	TopSASLSenders []SASLSender    `json:"top_sasl_senders,omitzero"`

	// For the HTML only.
	Color    string `json:"-"`
	Refresh  int    `json:"-"`
	ShowSASL bool   `json:"-"` // something provides top SASL senders
}

// collectorView is one collector's last run.
type collectorView struct {
	Name            string     `json:"name"`
	State           string     `json:"state"` // ok, failing or pending (no run finished yet)
	LastRun         *time.Time `json:"last_run"`
	LastSuccess     *time.Time `json:"last_success"`
	DurationSeconds float64    `json:"duration_seconds"`
	Runs            uint64     `json:"runs"`
	Failures        uint64     `json:"failures"`
	LastError       string     `json:"last_error"`

	Ago string `json:"-"` // "12s ago", "never"
}

func collectorViews(st []scheduler.Status, now time.Time) []collectorView {
	out := make([]collectorView, 0, len(st))
	for _, s := range st {
		v := collectorView{
			Name: s.Name, State: "failing", DurationSeconds: s.Duration.Seconds(),
			Runs: s.Runs, Failures: s.Failures, LastError: s.LastError, Ago: "never",
		}
		switch {
		case s.Success:
			v.State = "ok"
		case s.Runs == 0:
			v.State = "pending"
		}
		if !s.LastRun.IsZero() {
			t := s.LastRun.UTC()
			v.LastRun = &t
			v.Ago = now.Sub(s.LastRun).Round(time.Second).String() + " ago"
		}
		if !s.LastSuccess.IsZero() {
			t := s.LastSuccess.UTC()
			v.LastSuccess = &t
		}
		out = append(out, v)
	}
	return out
}

func buildStatus(o Options, now time.Time) statusDoc {
	v := Verdict{Status: "UNKNOWN", Color: "magenta", Summary: "UNKNOWN: no status rules are wired to this page"}
	if o.Verdict != nil {
		v = o.Verdict()
	}
	if v.Rows == nil {
		v.Rows = []StatusRow{}
	}
	var st []scheduler.Status
	if o.Statuses != nil {
		st = o.Statuses()
	}
	d := statusDoc{
		Version: buildinfo.String(), Time: now.UTC(),
		Status: v.Status, Color: v.Color, Summary: v.Summary, Rows: v.Rows,
		Collectors: collectorViews(st, now),
		Refresh:    int(statusRefresh / time.Second),
	}
	if o.Maintenance != nil {
		d.Maintenance = o.Maintenance()
	}
	if o.TopSASLSenders != nil {
		d.ShowSASL = true
		d.TopSASLSenders = o.TopSASLSenders()
		if d.TopSASLSenders == nil {
			d.TopSASLSenders = []SASLSender{} // provided, and empty: shown as such
		}
	}
	return d
}

// statusPage serves `/`: the HTML status page, or its data with ?format=json.
func statusPage(o Options) http.Handler {
	return limitStatus(o, maxStatusInFlight, statusQueueWait)
}

// limitStatus serves the page to at most n requests at once; the others
// wait, first come first served, for up to wait, then get 503.
func limitStatus(o Options, n int, wait time.Duration) http.Handler {
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			// No icon, and no error: browsers ask for it where a page names
			// none (the JSON view), and log a 404 as an error.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the status page answers GET only", http.StatusMethodNotAllowed)
			return
		}
		format := r.URL.Query().Get("format")
		if format != "" && format != "html" && format != "json" {
			http.Error(w, fmt.Sprintf("format must be html or json, got %q", format), http.StatusBadRequest)
			return
		}
		select {
		case slots <- struct{}{}:
		default:
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case slots <- struct{}{}:
			case <-r.Context().Done():
				return
			case <-t.C:
				http.Error(w, "too many status requests are being served; try again later.", http.StatusServiceUnavailable)
				return
			}
		}
		defer func() { <-slots }()

		doc := buildStatus(o, time.Now())
		var b bytes.Buffer
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if format == "json" {
			h.Set("Content-Type", "application/json")
			enc := json.NewEncoder(&b)
			enc.SetIndent("", "  ")
			if err := enc.Encode(doc); err != nil {
				o.Logger.Error("status page: encode JSON", zap.Error(err))
				http.Error(w, "cannot encode the status", http.StatusInternalServerError)
				return
			}
		} else {
			h.Set("Content-Type", "text/html; charset=utf-8")
			// No script, no external asset: only the inline style sheet (by
			// its hash) and the empty data: favicon may load.
			h.Set("Content-Security-Policy", statusCSP)
			if err := statusTemplate.Execute(&b, doc); err != nil {
				o.Logger.Error("status page: render", zap.Error(err))
				http.Error(w, "cannot render the status page", http.StatusInternalServerError)
				return
			}
		}
		if _, err := w.Write(b.Bytes()); err != nil {
			o.Logger.Debug("write status page", zap.Error(err))
		}
	})
}

//go:embed status.css
var statusCSS string

//go:embed status.html
var statusHTML string

var (
	statusCSSHash = sha256.Sum256([]byte(statusCSS))
	statusCSP     = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(statusCSSHash[:]) +
		"'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	// The style sheet goes in as literal template text, byte for byte what
	// the hash covers.
	statusTemplate = template.Must(template.New("status").Parse(
		`{{define "css"}}<style>` + statusCSS + `</style>{{end}}` + statusHTML))
)
