// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Formats.
const (
	FormatText = "text"
	FormatHTML = "html"
	FormatJSON = "json"
)

// section is one table of the text and HTML forms. Columns marked numeric
// are right-aligned.
type section struct {
	Title   string
	Note    string
	Columns []string
	Numeric []bool
	Rows    [][]string
}

func num(n uint64) string { return strconv.FormatUint(n, 10) }

// seconds writes a delay as pflogsumm does, in s, m or h with one decimal.
func seconds(s float64) string {
	switch {
	case s > 3600:
		return strconv.FormatFloat(s/3600, 'f', 1, 64) + " h"
	case s > 60:
		return strconv.FormatFloat(s/60, 'f', 1, 64) + " m"
	}
	return strconv.FormatFloat(s, 'f', 1, 64) + " s"
}

// humanBytes writes a byte count in binary units.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return num(n) + " B"
	}
	v, i := float64(n), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + "KMGTP"[i:i+1] + "iB"
}

func tstr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// title is the report's heading.
func (r *Report) title() string {
	return fmt.Sprintf("mail report %s to %s", tstr(r.windowStart()), tstr(r.windowEnd()))
}

func (r *Report) windowStart() *time.Time {
	if r.Since != nil {
		return r.Since
	}
	return r.First
}

func (r *Report) windowEnd() *time.Time {
	if r.Until != nil {
		return r.Until
	}
	return r.Last
}

// sections builds the tables; an empty one is left out.
func (r *Report) sections() []section {
	var out []section
	add := func(s section) {
		if len(s.Rows) > 0 {
			out = append(out, s)
		}
	}
	// Grand totals, in the order of the daemon's actions.
	tot := section{Title: "Grand totals", Columns: []string{"count", "what"}, Numeric: []bool{true, false},
		Note: "mailwatch_postfix_messages_total by action, with pflogsumm's definitions; deferred counts lines, one per recipient and attempt"}
	for _, a := range actionOrder {
		tot.Rows = append(tot.Rows, []string{num(r.Totals[a]), a})
	}
	tot.Rows = append(tot.Rows,
		[]string{num(r.DeferredMessages), "deferred messages (distinct)"},
		[]string{num(r.Bytes.Received), "bytes received (" + humanBytes(r.Bytes.Received) + ")"},
		[]string{num(r.Bytes.Delivered), "bytes delivered (" + humanBytes(r.Bytes.Delivered) + ")"},
		[]string{strconv.Itoa(r.Tables["senders_by_count"].Keys), "senders"},
		[]string{strconv.Itoa(r.Tables["received_by_domain"].Keys), "sending domains"},
		[]string{strconv.Itoa(r.Tables["recipients_by_count"].Keys), "recipients"},
		[]string{strconv.Itoa(r.Tables["delivery_by_domain"].Keys), "recipient domains"},
	)
	if r.SizeUnknown > 0 {
		tot.Rows = append(tot.Rows, []string{num(r.SizeUnknown), "deliveries of messages whose size is not in the logs read (0 bytes)"})
	}
	out = append(out, tot)

	traffic := func(title, key string, rows []Traffic, label func(t Traffic) string) {
		s := section{Title: title, Columns: []string{key, "received", "delivered", "deferred", "bounced", "rejected"},
			Numeric: []bool{false, true, true, true, true, true}, Note: "rows without traffic are left out"}
		for _, t := range rows {
			if t.Received+t.Delivered+t.Deferred+t.Bounced+t.Rejected > 0 {
				s.Rows = append(s.Rows, []string{label(t), num(t.Received), num(t.Delivered), num(t.Deferred), num(t.Bounced), num(t.Rejected)})
			}
		}
		add(s)
	}
	traffic("Traffic per hour of the day", "hour", r.PerHour[:], func(t Traffic) string {
		return fmt.Sprintf("%02d:00-%02d:00", *t.Hour, *t.Hour+1)
	})
	if len(r.PerDay) > 1 {
		traffic("Traffic per day", "day", r.PerDay, func(t Traffic) string { return t.Day })
	}

	s := section{Title: "Delivery by recipient domain", Columns: []string{"sent", "bytes", "deferred", "bounced", "avg delay", "max delay", "domain"},
		Numeric: []bool{true, true, true, true, true, true, false}}
	for _, d := range r.DeliveryByDomain {
		s.Rows = append(s.Rows, []string{num(d.Sent), num(d.Bytes), num(d.Deferred), num(d.Bounced), seconds(d.AvgDelaySec), seconds(d.MaxDelaySec), d.Domain})
	}
	s.Note = r.tableNote("delivery_by_domain")
	add(s)
	s = section{Title: "Received by sender domain", Columns: []string{"messages", "bytes", "domain"}, Numeric: []bool{true, true, false},
		Note: r.tableNote("received_by_domain")}
	for _, d := range r.ReceivedByDomain {
		s.Rows = append(s.Rows, []string{num(d.Messages), num(d.Bytes), d.Domain})
	}
	add(s)
	addrs := func(title, name string, rows []Address) {
		s := section{Title: title, Columns: []string{"messages", "bytes", "address"}, Numeric: []bool{true, true, false}, Note: r.tableNote(name)}
		for _, a := range rows {
			s.Rows = append(s.Rows, []string{num(a.Messages), num(a.Bytes), a.Address})
		}
		add(s)
	}
	addrs("Senders by message count", "senders_by_count", r.SendersByCount)
	addrs("Senders by size", "senders_by_size", r.SendersBySize)
	addrs("Recipients by message count", "recipients_by_count", r.RecipientsByCnt)
	addrs("Recipients by size", "recipients_by_size", r.RecipientsBySize)

	details := func(title, name, group string, rows []Detail) {
		s := section{Title: title, Columns: []string{"count", group, "reason"}, Numeric: []bool{true, false, false}, Note: r.tableNote(name)}
		for _, d := range rows {
			s.Rows = append(s.Rows, []string{num(d.Count), d.Group, d.Reason})
		}
		add(s)
	}
	details("Deferrals", "deferrals", "transport", r.Deferrals)
	details("Bounces", "bounces", "relay", r.Bounces)
	details("Rejects", "rejects", "daemon, stage", r.Rejects)
	counts := func(title, name, key string, rows []Count) {
		s := section{Title: title, Columns: []string{"count", key}, Numeric: []bool{true, false}, Note: r.tableNote(name)}
		for _, c := range rows {
			s.Rows = append(s.Rows, []string{num(c.Count), c.Key})
		}
		add(s)
	}
	counts("Rejected clients", "reject_clients", "client host/domain", r.RejectClients)
	counts("SMTP connections by client domain", "connections_by_client_domain", "client host/domain", r.Connections)

	s = section{Title: "Authentication failures", Columns: []string{"count", "service", "user", "client"},
		Numeric: []bool{true, false, false, false}, Note: r.tableNote("auth_failures")}
	for _, a := range r.AuthFailures {
		s.Rows = append(s.Rows, []string{num(a.Count), a.Service, orDash(a.User), a.Client})
	}
	add(s)
	counts("fail2ban bans by jail", "fail2ban_bans", "jail", r.Fail2banBans)
	s = section{Title: "Spam and virus verdicts", Columns: []string{"count", "program", "verdict"}, Numeric: []bool{true, false, false},
		Note: r.tableNote("verdicts")}
	for _, v := range r.Verdicts {
		s.Rows = append(s.Rows, []string{num(v.Count), v.Program, v.Verdict})
	}
	add(s)
	s = section{Title: "Warnings, errors, fatal errors and panics", Columns: []string{"count", "severity", "program", "shape"},
		Numeric: []bool{true, false, false, false}, Note: r.tableNote("problems")}
	for _, p := range r.Problems {
		s.Rows = append(s.Rows, []string{num(p.Count), p.Severity, p.Program, p.Shape})
	}
	add(s)
	s = section{Title: "Log events", Columns: []string{"count", "event"}, Numeric: []bool{true, false},
		Note: "mailwatch_log_events_total, non-zero"}
	for _, k := range sortedKeys(r.Events) {
		s.Rows = append(s.Rows, []string{num(r.Events[k]), k})
	}
	add(s)
	counts("Unmatched line shapes", "unmatched", "shape", r.Unmatched)
	return out
}

var actionOrder = []string{"received", "delivered", "forwarded", "deferred", "bounced", "rejected", "reject_warning", "held", "discarded", "expired"}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// tableNote says what a table leaves out: rows beyond --top, and updates
// folded into its other row.
func (r *Report) tableNote(name string) string {
	ti := r.Tables[name]
	var parts []string
	rows := ti.Keys
	if ti.Folded > 0 {
		rows++ // the other row
	}
	if ti.Shown < rows {
		parts = append(parts, fmt.Sprintf("top %d of %d rows", ti.Shown, rows))
	}
	if ti.Folded > 0 {
		parts = append(parts, fmt.Sprintf("the table was full at %d keys: %d updates of further keys are counted in the row %s", ti.Keys, ti.Folded, OtherKey))
	}
	return strings.Join(parts, "; ")
}

// header lines common to the text and HTML forms.
func (r *Report) header() []string {
	window := "every line"
	switch {
	case r.Since != nil && r.Until != nil:
		window = "from " + tstr(r.Since) + " to before " + tstr(r.Until)
	case r.Since != nil:
		window = "from " + tstr(r.Since)
	case r.Until != nil:
		window = "before " + tstr(r.Until)
	}
	h := []string{
		fmt.Sprintf("window: %s; lines counted from %s to %s", window, tstr(r.First), tstr(r.Last)),
		fmt.Sprintf("inputs: %s", strings.Join(r.Inputs, ", ")),
		fmt.Sprintf("lines read %d: malformed %d, outside the window %d, without a time %d", r.Lines, r.Malformed, r.OutsideWindow, r.Undated),
	}
	if r.QueueForgotten > 0 {
		h = append(h, fmt.Sprintf("%d queued messages were forgotten (more than the queue bound at once): their later deliveries count 0 bytes", r.QueueForgotten))
	}
	return h
}

// WriteText writes the report as fixed-width text, for a terminal or a
// cron mail.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	t := r.title()
	fmt.Fprintf(bw, "%s\n%s\n", t, strings.Repeat("=", utf8.RuneCountInString(t)))
	for _, l := range r.header() {
		fmt.Fprintln(bw, l)
	}
	for _, s := range r.sections() {
		fmt.Fprintf(bw, "\n%s\n%s\n", s.Title, strings.Repeat("-", utf8.RuneCountInString(s.Title)))
		if s.Note != "" {
			fmt.Fprintf(bw, "(%s)\n", s.Note)
		}
		widths := make([]int, len(s.Columns))
		for i, c := range s.Columns {
			widths[i] = utf8.RuneCountInString(c)
		}
		for _, row := range s.Rows {
			for i, c := range row {
				widths[i] = max(widths[i], utf8.RuneCountInString(printable(c)))
			}
		}
		line := func(cells []string) {
			var sb strings.Builder
			for i, c := range cells {
				c = printable(c)
				pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
				last := i == len(cells)-1
				switch {
				case s.Numeric[i]:
					sb.WriteString(pad + c)
				case last:
					sb.WriteString(c)
				default:
					sb.WriteString(c + pad)
				}
				if !last {
					sb.WriteString("  ")
				}
			}
			fmt.Fprintf(bw, "  %s\n", strings.TrimRight(sb.String(), " "))
		}
		line(s.Columns)
		rule := make([]string, len(s.Columns))
		for i := range rule {
			rule[i] = strings.Repeat("-", widths[i])
		}
		line(rule)
		for _, row := range s.Rows {
			line(row)
		}
	}
	return bw.Flush()
}

// printable keeps a log's bytes from reaching a terminal as control
// sequences: control characters and invalid UTF-8 become '?'.
func printable(s string) string {
	clean := true
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == utf8.RuneError {
			c = '?'
		}
		sb.WriteRune(c)
	}
	return sb.String()
}

// WriteJSON writes the report as JSON (the schema is in the README).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

var htmlPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:sans-serif;font-size:14px;color:#222;background:#fff">
<h1 style="font-size:20px">{{.Title}}</h1>
{{range .Header}}<p style="margin:2px 0;color:#555">{{.}}</p>
{{end}}{{range .Sections}}<h2 style="font-size:16px;margin:18px 0 4px">{{.Title}}</h2>
{{if .Note}}<p style="margin:2px 0;color:#555;font-size:12px">{{.Note}}</p>
{{end}}{{$num := .Numeric}}<table style="border-collapse:collapse;font-family:monospace;font-size:13px">
<tr>{{range $i, $c := .Columns}}<th style="text-align:{{if index $num $i}}right{{else}}left{{end}};border-bottom:1px solid #999;padding:2px 8px">{{$c}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range $i, $c := .}}<td style="padding:1px 8px;text-align:{{if index $num $i}}right{{else}}left{{end}}">{{$c}}</td>{{end}}</tr>
{{end}}</table>
{{end}}<p style="margin-top:18px;color:#777;font-size:12px">mailwatchd report, schema {{.Schema}}</p>
</body></html>
`))

// WriteHTML writes the report as one self-contained HTML page: inline
// styles only, no script, no external asset, so that a mail client shows
// it as it is.
func (r *Report) WriteHTML(w io.Writer) error {
	return htmlPage.Execute(w, struct {
		Title    string
		Header   []string
		Sections []section
		Schema   int
	}{r.title(), r.header(), r.sections(), SchemaVersion})
}

// Write writes the report in format.
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case FormatText:
		return r.WriteText(w)
	case FormatHTML:
		return r.WriteHTML(w)
	case FormatJSON:
		return r.WriteJSON(w)
	}
	return fmt.Errorf("unknown report format %q (want %s, %s or %s)", format, FormatText, FormatHTML, FormatJSON)
}
