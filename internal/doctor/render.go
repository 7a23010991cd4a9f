// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Write prints the findings, problems first, each with its fix.
func Write(w io.Writer, fs []Finding) error {
	var b strings.Builder
	for _, want := range []Status{Fail, Warn, Info, OK} {
		for _, f := range fs {
			if f.Status != want {
				continue
			}
			fmt.Fprintf(&b, "%-4s  %-12s  %s\n", f.Status, f.Area, f.What)
			if f.Fix != "" {
				fmt.Fprintf(&b, "%-4s  %-12s  fix: %s\n", "", "", f.Fix)
			}
		}
	}
	n := map[Status]int{}
	for _, f := range fs {
		n[f.Status]++
	}
	fmt.Fprintf(&b, "\n%d problem(s), %d warning(s), %d ok\n", n[Fail], n[Warn], n[OK])
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the findings as a JSON array.
func WriteJSON(w io.Writer, fs []Finding) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if fs == nil {
		fs = []Finding{}
	}
	return enc.Encode(fs)
}

// Exit is 2 when something fails, 1 with warnings only, else 0.
func Exit(fs []Finding) int {
	code := 0
	for _, f := range fs {
		switch f.Status {
		case Fail:
			return 2
		case Warn:
			code = 1
		}
	}
	return code
}
