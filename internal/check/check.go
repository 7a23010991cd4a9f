// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package check turns one round of collector results into the status table
// of `mailwatchd check`: one row per watched item, with a value in human
// units and OK / WARN / CRIT judged by the same thresholds as the shipped
// alert rules. It reads only the metrics the collectors export, so the
// terminal and the dashboards can never disagree.
package check

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Level is a row's verdict; the values are the monitoring-plugin exit codes.
type Level int

// Levels, ordered by severity except Unknown, which ranks between WARN and
// CRIT for the exit code only when nothing is CRIT (plugin convention).
const (
	OK      Level = 0
	Warn    Level = 1
	Crit    Level = 2
	Unknown Level = 3
)

func (l Level) String() string {
	switch l {
	case OK:
		return "OK"
	case Warn:
		return "WARN"
	case Crit:
		return "CRIT"
	}
	return "UNKNOWN"
}

// MarshalText makes JSON carry the name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Row is one line of the report.
type Row struct {
	Area  string `json:"area"`
	Item  string `json:"item"`
	Value string `json:"value"`
	Level Level  `json:"status"`
}

// Areas in the order the table shows them.
var Areas = []string{"collectors", "services", "saturation", "queue", "roundtrip", "storage", "quarantine", "certificates", "blacklists", "dns", "logs", "backups", "anti-spam", "system"}

// Exit is the process exit status for a set of rows: the worst level, CRIT
// above UNKNOWN above WARN, like a Nagios plugin.
func Exit(rows []Row) int {
	worst := OK
	for _, r := range rows {
		switch {
		case r.Level == Crit:
			return int(Crit)
		case r.Level == Unknown:
			worst = Unknown
		case r.Level == Warn && worst == OK:
			worst = Warn
		}
	}
	return int(worst)
}

// Sort orders rows by area (in Areas order), then item.
func Sort(rows []Row) {
	rank := map[string]int{}
	for i, a := range Areas {
		rank[a] = i
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Area != rows[j].Area {
			return rank[rows[i].Area] < rank[rows[j].Area]
		}
		return rows[i].Item < rows[j].Item
	})
}

// Urgency ranks a level for a reader who must act: CRIT first, then
// UNKNOWN (nothing can be said, as Exit ranks it), WARN, OK.
func Urgency(l Level) int {
	switch l {
	case Crit:
		return 0
	case Unknown:
		return 1
	case Warn:
		return 2
	}
	return 3
}

// SortWorstFirst orders rows by Urgency, keeping the order of Sort (area,
// then item) among rows of the same level: the status page's order.
func SortWorstFirst(rows []Row) {
	Sort(rows)
	sort.SliceStable(rows, func(i, j int) bool { return Urgency(rows[i].Level) < Urgency(rows[j].Level) })
}

// Families indexes metric families by name.
type Families map[string]*dto.MetricFamily

// Index builds Families from a gather.
func Index(mfs []*dto.MetricFamily) Families {
	f := Families{}
	for _, mf := range mfs {
		f[mf.GetName()] = mf
	}
	return f
}

// sample is one series: its labels and value.
type sample struct {
	labels map[string]string
	value  float64
}

func (f Families) samples(name string) []sample {
	mf := f[name]
	if mf == nil {
		return nil
	}
	out := make([]sample, 0, len(mf.GetMetric()))
	for _, m := range mf.GetMetric() {
		s := sample{labels: make(map[string]string, len(m.GetLabel())), value: metricValue(m)}
		for _, l := range m.GetLabel() {
			s.labels[l.GetName()] = l.GetValue()
		}
		out = append(out, s)
	}
	return out
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// value returns the value of the series of name whose labels include want.
// It compares the label pairs in place: the rules call it once per row and
// label value, and the status page judges on every request.
func (f Families) value(name string, want map[string]string) (float64, bool) {
	mf := f[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if matches(m.GetLabel(), want) {
			return metricValue(m), true
		}
	}
	return 0, false
}

// matches reports whether the label pairs include every pair of want (a
// missing label counts as the empty value, as Prometheus has it).
func matches(have []*dto.LabelPair, want map[string]string) bool {
	for k, v := range want {
		got := ""
		for _, l := range have {
			if l.GetName() == k {
				got = l.GetValue()
				break
			}
		}
		if got != v {
			return false
		}
	}
	return true
}

// HumanDuration renders a duration the way an admin says it: "23 days",
// "3 h", "12 min", "40 s".
func HumanDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var s string
	switch {
	case d >= 48*time.Hour:
		s = fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= 2*time.Hour:
		s = fmt.Sprintf("%d h", int(d.Hours()))
	case d >= 2*time.Minute:
		s = fmt.Sprintf("%d min", int(d.Minutes()))
	default:
		s = fmt.Sprintf("%d s", int(d.Seconds()))
	}
	if neg {
		return s + " ago"
	}
	return s
}

// HumanBytes renders bytes with binary units: "1.5 GiB".
func HumanBytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

func percent(r float64) string {
	return fmt.Sprintf("%.0f %%", math.Floor(r*100))
}

func since(now time.Time, ts float64) time.Duration {
	return now.Sub(time.Unix(0, int64(ts*1e9)))
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}
