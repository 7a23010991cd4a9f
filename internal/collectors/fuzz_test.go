// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectors_test

import (
	"testing"
	"unicode/utf8"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// FuzzLabelValue: any bytes give a valid UTF-8 label value that a metric
// accepts and that decodes back to the input (so distinct inputs never
// share a series), and valid UTF-8 without an escaped byte's spelling is
// left as it is.
func FuzzLabelValue(f *testing.F) {
	for _, s := range []string{"", "/etc/ssl/mail.pem", "bad\xff.pem", `bad\xff.pem`, "a\\\xfe", "\xe2\x82", "\xed\xa0\x80", "é\uFFFD", `\\x`, `foo\x2dbar`, `\xe9`, "\\xe9\xe9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := collectors.LabelValue(s)
		if !utf8.ValidString(v) {
			t.Fatalf("LabelValue(%q) = %q, not valid UTF-8", s, v)
		}
		if back, ok := unescape(v); !ok || back != s {
			t.Fatalf("LabelValue(%q) = %q decodes to %q, %v", s, v, back, ok)
		}
		if utf8.ValidString(s) && !escapedByte.MatchString(s) && v != s {
			t.Fatalf("valid %q changed to %q", s, v)
		}
		collectors.Gauge(testDesc, 1, s, s) // no panic
	})
}
