// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var updateExamples = flag.Bool("update-examples", false, "rewrite docs/report-example.* from the harness fixture")

// TestExamples keeps the README's examples true: docs/report-example.txt,
// .html and .json are the report of the harness fixture (--top 5), and the
// README shows the text one as it is. Run with -update-examples after a
// deliberate change and review the diff.
func TestExamples(t *testing.T) {
	b, err := NewBuilder(defaultConfig(), Options{Now: time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC), Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.FeedFile(t.Context(), harnessLog); err != nil {
		t.Fatal(err)
	}
	r := b.Report(5)
	for _, format := range []string{FormatText, FormatHTML, FormatJSON} {
		var buf bytes.Buffer
		if err := r.Write(&buf, format); err != nil {
			t.Fatal(err)
		}
		ext := map[string]string{FormatText: "txt", FormatHTML: "html", FormatJSON: "json"}[format]
		path := "../../docs/report-example." + ext
		if *updateExamples {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s is not the report of %s: run go test ./internal/report -run TestExamples -update-examples", path, harnessLog)
		}
		if format == FormatText {
			readme, err := os.ReadFile("../../README.md")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(readme), "```\n$ mailwatchd report --top 5 "+harnessLog+"\n"+buf.String()+"```\n") {
				t.Errorf("README.md does not show docs/report-example.txt as it is")
			}
		}
	}
}
