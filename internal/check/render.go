// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Table writes the aligned status table. color adds ANSI colours to the
// status column (only for a terminal).
func Table(w io.Writer, rows []Row, color bool) error {
	wa, wi := len("AREA"), len("ITEM")
	for _, r := range rows {
		wa = max(wa, len(r.Area))
		wi = max(wi, len(r.Item))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-*s  %-7s %s\n", wa, "AREA", wi, "ITEM", "STATUS", "VALUE")
	for _, r := range rows {
		st := fmt.Sprintf("%-7s", r.Level)
		if color {
			st = colorize(r.Level, st)
		}
		fmt.Fprintf(&b, "%-*s  %-*s  %s %s\n", wa, r.Area, wi, r.Item, st, r.Value)
	}
	b.WriteString(Summary(rows) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Color names the colour of a level in every view of the rows: the
// terminal table (ANSI) and the status page (CSS) both derive theirs from
// it. CRIT is also bold in both.
func Color(l Level) string {
	switch l {
	case OK:
		return "green"
	case Warn:
		return "yellow"
	case Crit:
		return "red"
	}
	return "magenta"
}

var ansi = map[string]string{"green": "32", "yellow": "33", "red": "31;1", "magenta": "35"}

func colorize(l Level, s string) string {
	return "\x1b[" + ansi[Color(l)] + "m" + s + "\x1b[0m"
}

// Summary is the one-line verdict, e.g. "CRIT: 1 critical, 2 warning, 14 ok
// - dovecot.service failed".
func Summary(rows []Row) string {
	n := map[Level]int{}
	var worst []string
	lvl := Level(Exit(rows))
	for _, r := range rows {
		n[r.Level]++
		if r.Level == lvl && lvl != OK {
			worst = append(worst, r.Item+" "+r.Value)
		}
	}
	s := fmt.Sprintf("%s: %d critical, %d warning, %d unknown, %d ok", lvl, n[Crit], n[Warn], n[Unknown], n[OK])
	if len(worst) > 0 {
		if len(worst) > 3 {
			worst = append(worst[:3], fmt.Sprintf("and %d more", len(worst)-3))
		}
		s += " - " + strings.Join(worst, "; ")
	}
	return s
}

// JSON writes the rows and the overall status as one JSON document.
func JSON(w io.Writer, rows []Row) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if rows == nil {
		rows = []Row{}
	}
	return enc.Encode(struct {
		Status  Level  `json:"status"`
		Summary string `json:"summary"`
		Rows    []Row  `json:"rows"`
	}{Level(Exit(rows)), Summary(rows), rows})
}
