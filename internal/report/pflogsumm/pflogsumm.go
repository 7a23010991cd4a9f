// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package pflogsumm reconciles `mailwatchd report` with pflogsumm: it reads
// pflogsumm's text output (the grand totals and the two "Host/Domain
// Summary" tables) and the report's JSON, and lists every number on which
// they disagree, after writing the report's numbers the way pflogsumm
// writes its own (adj_int_units, adj_time_units). The tests, the e2e test
// and bench/report.sh use it; the daemon does not.
package pflogsumm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Summary is what is read of pflogsumm's output.
type Summary struct {
	// Totals are the grand totals by pflogsumm's words: received,
	// delivered, forwarded, deferred, deferrals, bounced, rejected,
	// reject warnings, held, discarded; and "bytes received" and "bytes
	// delivered" as printed ("2804k").
	Totals     map[string]int64
	BytesTotal map[string]string
	Delivery   []DeliveryRow
	Received   []ReceivedRow
}

// DeliveryRow is a row of "Host/Domain Summary: Message Delivery"; the
// bytes and delays as printed.
type DeliveryRow struct {
	Domain           string
	Sent, Defers     int64
	Bytes            string
	AvgDelay, MaxDly string
}

// ReceivedRow is a row of "Host/Domain Summary: Messages Received".
type ReceivedRow struct {
	Domain   string
	Messages int64
	Bytes    string
}

var (
	totalLine = regexp.MustCompile(`^\s+(\d+)([km]?)\s+(received|delivered|forwarded|deferred|bounced|rejected|reject warnings|held|discarded|bytes received|bytes delivered)\b(.*)$`)
	deferrals = regexp.MustCompile(`\((\d+)\s+deferrals\)`)
	delivRow  = regexp.MustCompile(`^\s+(\d+[ km])\s+(\d+[ km])\s+(\d+[ km])\s+(\d+\.\d [smh])\s+(\d+\.\d [smh])\s+(\S+)$`)
	recvRow   = regexp.MustCompile(`^\s+(\d+[ km])\s+(\d+[ km])\s+(\S+)$`)
)

// Parse reads pflogsumm's text output.
func Parse(r io.Reader) (*Summary, error) {
	s := &Summary{Totals: map[string]int64{}, BytesTotal: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	section := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Grand Totals"):
			section = "totals"
			continue
		case strings.HasPrefix(line, "Host/Domain Summary: Message Delivery"):
			section = "delivery"
			continue
		case strings.HasPrefix(line, "Host/Domain Summary: Messages Received"):
			section = "received"
			continue
		case line != "" && line[0] != ' ' && !strings.HasPrefix(line, "-") && line != "messages":
			section = ""
			continue
		}
		switch section {
		case "totals":
			m := totalLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if strings.HasPrefix(m[3], "bytes") {
				s.BytesTotal[m[3]] = m[1] + m[2]
				continue
			}
			n, _ := strconv.ParseInt(m[1], 10, 64)
			if m[2] != "" {
				return nil, fmt.Errorf("pflogsumm total %q is rounded; run it on a smaller log", line)
			}
			s.Totals[m[3]] = n
			if d := deferrals.FindStringSubmatch(m[4]); d != nil {
				s.Totals["deferrals"], _ = strconv.ParseInt(d[1], 10, 64)
			}
		case "delivery":
			if m := delivRow.FindStringSubmatch(line); m != nil {
				s.Delivery = append(s.Delivery, DeliveryRow{Domain: m[6], Sent: count(m[1]), Bytes: strings.TrimSpace(m[2]),
					Defers: count(m[3]), AvgDelay: m[4], MaxDly: m[5]})
			}
		case "received":
			if m := recvRow.FindStringSubmatch(line); m != nil {
				s.Received = append(s.Received, ReceivedRow{Domain: m[3], Messages: count(m[1]), Bytes: strings.TrimSpace(m[2])})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(s.Totals) == 0 {
		return nil, fmt.Errorf("no grand totals in pflogsumm's output")
	}
	return s, nil
}

// count reads a count column; pflogsumm prints counts above 512 k rounded
// ("1024k"), which a reconciliation cannot use: -1.
func count(s string) int64 {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// Ours is what is compared of a report: its JSON, as ParseReport reads it.
type Ours struct {
	Totals map[string]uint64 `json:"totals"`
	Bytes  struct {
		Received  uint64 `json:"received"`
		Delivered uint64 `json:"delivered"`
	} `json:"bytes"`
	DeferredMessages uint64 `json:"deferred_messages"`
	Delivery         []struct {
		Domain   string  `json:"domain"`
		Sent     uint64  `json:"sent"`
		Deferred uint64  `json:"deferred"`
		Bounced  uint64  `json:"bounced"`
		Bytes    uint64  `json:"bytes"`
		Avg      float64 `json:"avg_delay_seconds"`
		Max      float64 `json:"max_delay_seconds"`
	} `json:"delivery_by_domain"`
	Received []struct {
		Domain   string `json:"domain"`
		Messages uint64 `json:"messages"`
		Bytes    uint64 `json:"bytes"`
	} `json:"received_by_domain"`
}

// ParseReport reads the JSON of `mailwatchd report --format json --top 0`.
func ParseReport(data []byte) (*Ours, error) {
	var o Ours
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, err
	}
	if o.Totals == nil {
		return nil, fmt.Errorf("no totals in the report")
	}
	return &o, nil
}

// IntUnits writes n as pflogsumm's adj_int_units and "%6d%s" do: above
// 512 MiB in m, above 512 KiB in k, truncated.
func IntUnits(n uint64) string {
	switch {
	case n > 536870912:
		return strconv.FormatUint(n/1048576, 10) + "m"
	case n > 524288:
		return strconv.FormatUint(n/1024, 10) + "k"
	}
	return strconv.FormatUint(n, 10)
}

// TimeUnits writes seconds as pflogsumm's adj_time_units and "%5.1f %s" do.
func TimeUnits(s float64) string {
	u := "s"
	switch {
	case s > 3600:
		s, u = s/3600, "h"
	case s > 60:
		s, u = s/60, "m"
	}
	return strconv.FormatFloat(s, 'f', 1, 64) + " " + u
}

// closeDelay accepts a delay that differs from pflogsumm's in the last digit
// only by the rounding of a sum of decimals in floating point (pflogsumm
// adds the delay= texts as floats; the report adds microseconds).
func closeDelay(ours float64, theirs string) bool {
	if TimeUnits(ours) == theirs {
		return true
	}
	for _, d := range []float64{-1e-6, 1e-6} {
		if TimeUnits(ours+d) == theirs {
			return true
		}
	}
	return false
}

// Diff lists every disagreement between a report and pflogsumm's output
// for the same log: totals (the report's deferred is pflogsumm's
// "deferrals", its deferred_messages pflogsumm's "deferred"), bytes as
// pflogsumm rounds them, and every row of the two domain tables. The
// report's rows of domains that only bounced are not in pflogsumm's table
// (it keeps none for them) and are not compared; nor are rows pflogsumm
// printed with rounded counts.
func Diff(o *Ours, s *Summary) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	pairs := []struct {
		ours uint64
		word string
	}{
		{o.Totals["received"], "received"}, {o.Totals["delivered"], "delivered"},
		{o.Totals["forwarded"], "forwarded"}, {o.Totals["deferred"], "deferrals"},
		{o.DeferredMessages, "deferred"}, {o.Totals["bounced"], "bounced"},
		{o.Totals["rejected"], "rejected"}, {o.Totals["reject_warning"], "reject warnings"},
		{o.Totals["held"], "held"}, {o.Totals["discarded"], "discarded"},
	}
	for _, p := range pairs {
		theirs, ok := s.Totals[p.word]
		if p.word == "deferrals" && !ok {
			theirs, ok = 0, true // pflogsumm prints "(N deferrals)" only when there are some
		}
		if !ok || int64(p.ours) != theirs {
			bad("total %s: report %d, pflogsumm %d", p.word, p.ours, theirs)
		}
	}
	if got, want := IntUnits(o.Bytes.Received), s.BytesTotal["bytes received"]; got != want {
		bad("bytes received: report %d (%s), pflogsumm %s", o.Bytes.Received, got, want)
	}
	if got, want := IntUnits(o.Bytes.Delivered), s.BytesTotal["bytes delivered"]; got != want {
		bad("bytes delivered: report %d (%s), pflogsumm %s", o.Bytes.Delivered, got, want)
	}
	theirs := map[string]DeliveryRow{}
	for _, r := range s.Delivery {
		theirs[r.Domain] = r
	}
	seen := map[string]bool{}
	for _, d := range o.Delivery {
		if d.Sent+d.Deferred == 0 {
			continue
		}
		seen[d.Domain] = true
		t, ok := theirs[d.Domain]
		switch {
		case !ok:
			bad("delivery %s: report sent %d deferred %d, not in pflogsumm", d.Domain, d.Sent, d.Deferred)
			continue
		case t.Sent < 0 || t.Defers < 0:
			continue
		}
		if int64(d.Sent) != t.Sent || int64(d.Deferred) != t.Defers || IntUnits(d.Bytes) != t.Bytes {
			bad("delivery %s: report sent %d bytes %s deferred %d, pflogsumm sent %d bytes %s deferred %d",
				d.Domain, d.Sent, IntUnits(d.Bytes), d.Deferred, t.Sent, t.Bytes, t.Defers)
		}
		if !closeDelay(d.Avg, t.AvgDelay) || !closeDelay(d.Max, t.MaxDly) {
			bad("delivery %s: report delays %s/%s, pflogsumm %s/%s", d.Domain, TimeUnits(d.Avg), TimeUnits(d.Max), t.AvgDelay, t.MaxDly)
		}
	}
	for _, r := range s.Delivery {
		if !seen[r.Domain] {
			bad("delivery %s: in pflogsumm (sent %d), not in the report", r.Domain, r.Sent)
		}
	}
	rt := map[string]ReceivedRow{}
	for _, r := range s.Received {
		rt[r.Domain] = r
	}
	seen = map[string]bool{}
	for _, d := range o.Received {
		seen[d.Domain] = true
		t, ok := rt[d.Domain]
		if !ok {
			bad("received %s: report %d messages, not in pflogsumm", d.Domain, d.Messages)
			continue
		}
		if t.Messages >= 0 && (int64(d.Messages) != t.Messages || IntUnits(d.Bytes) != t.Bytes) {
			bad("received %s: report %d messages %s bytes, pflogsumm %d messages %s bytes", d.Domain, d.Messages, IntUnits(d.Bytes), t.Messages, t.Bytes)
		}
	}
	for _, r := range s.Received {
		if !seen[r.Domain] {
			bad("received %s: in pflogsumm (%d messages), not in the report", r.Domain, r.Messages)
		}
	}
	sort.Strings(out)
	return out
}
