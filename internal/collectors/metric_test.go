// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectors_test

import (
	"errors"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// escapedByte is the spelling of a byte escaped by LabelValue: a value
// holds one if and only if it was escaped.
var escapedByte = regexp.MustCompile(`\\x[89a-f][0-9a-f]`)

// unescape undoes LabelValue, to show that it loses nothing.
func unescape(v string) (string, bool) {
	if !escapedByte.MatchString(v) {
		return v, true
	}
	var b []byte
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] != '\\':
			b = append(b, v[i])
		case i+1 < len(v) && v[i+1] == '\\':
			b = append(b, '\\')
			i++
		case i+3 < len(v) && v[i+1] == 'x' && escapedByte.MatchString(v[i:i+4]):
			n, _ := strconv.ParseUint(v[i+2:i+4], 16, 8)
			b = append(b, byte(n))
			i += 3
		default:
			return "", false // a backslash LabelValue would have doubled
		}
	}
	return string(b), true
}

func TestLabelValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"/etc/ssl/mail.pem", "/etc/ssl/mail.pem"},
		{"smtp://[::1]:25", "smtp://[::1]:25"},
		{"boîte", "boîte"},                           // valid UTF-8 kept
		{"\uFFFD", "\uFFFD"},                         // a real U+FFFD is valid
		{`C:\mail\box`, `C:\mail\box`},               // a backslash alone is kept
		{`foo\x2dbar.service`, `foo\x2dbar.service`}, // systemd's escape of an ASCII byte
		{`a\xFF\x7f\x8`, `a\xFF\x7f\x8`},             // uppercase, below 80, too short
		{"/etc/ssl/\xff.pem", `/etc/ssl/\xff.pem`},
		{`/etc/ssl/\xff.pem`, `/etc/ssl/\\xff.pem`}, // looks escaped: escaped
		{`\x2d\x80`, `\\x2d\\x80`},
		{"\\x2d\xff", `\\x2d\xff`},
		{"a\\\xfe", `a\\\xfe`},
		{"\xe2\x82", `\xe2\x82`},         // truncated sequence: byte by byte
		{"\xed\xa0\x80", `\xed\xa0\x80`}, // a surrogate is not valid UTF-8
		{"é\xc3", `é\xc3`},
		{"\x00\n", "\x00\n"},
	} {
		got := collectors.LabelValue(tc.in)
		if got != tc.want {
			t.Errorf("LabelValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back, ok := unescape(got); !ok || back != tc.in {
			t.Errorf("unescape(%q) = %q, %v; want %q", got, back, ok, tc.in)
		}
	}
}

// TestLabelValueDistinct: inputs that a lossy rule (U+FFFD, or \xNN
// without escaping the backslash) would merge keep distinct label values.
func TestLabelValueDistinct(t *testing.T) {
	inputs := []string{
		"bad\xff.pem", "bad\xfe.pem", "bad\uFFFD.pem", `bad\xff.pem`, `bad\\xff.pem`,
		"bad\\\xff.pem", `bad\\\xff.pem`, `bad\xFF.pem`, "bad?.pem", "bad.pem", "bad\xff\xfe.pem", "bad\xc3\xff.pem",
	}
	seen := map[string]string{}
	for _, in := range inputs {
		v := collectors.LabelValue(in)
		if !utf8.ValidString(v) {
			t.Errorf("LabelValue(%q) = %q, not valid UTF-8", in, v)
		}
		if prev, dup := seen[v]; dup {
			t.Errorf("LabelValue(%q) = LabelValue(%q) = %q", in, prev, v)
		}
		seen[v] = in
	}
}

var testDesc = prometheus.NewDesc("mailwatch_test_bytes", "Test.", []string{"path", "kind"}, nil)

func labels(t *testing.T, m prometheus.Metric) []string {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range pb.GetLabel() {
		out = append(out, l.GetName()+"="+l.GetValue())
	}
	return out
}

func TestMetricEscapesLabels(t *testing.T) {
	lvs := []string{"/srv/\xff", "x"}
	m := collectors.Gauge(testDesc, 3, lvs...) // MustNewConstMetric would panic
	if got, want := strings.Join(labels(t, m), " "), `kind=x path=/srv/\xff`; got != want {
		t.Errorf("labels %s, want %s", got, want)
	}
	if lvs[0] != "/srv/\xff" {
		t.Errorf("the caller's label values were modified: %q", lvs)
	}
	var pb dto.Metric
	if err := collectors.Counter(testDesc, 2, "a", "\x80").Write(&pb); err != nil || pb.GetCounter().GetValue() != 2 {
		t.Errorf("counter: %v %v", &pb, err)
	}
	if err := collectors.Metric(testDesc, prometheus.GaugeValue, 1, "a", "b").Write(&pb); err != nil || pb.GetGauge().GetValue() != 1 {
		t.Errorf("metric: %v %v", &pb, err)
	}
}

func TestB2F(t *testing.T) {
	if collectors.B2F(true) != 1 || collectors.B2F(false) != 0 {
		t.Error("B2F")
	}
}

func TestSafeCall(t *testing.T) {
	if err := collectors.SafeCall(func() {}); err != nil {
		t.Errorf("no panic: %v", err)
	}
	err := collectors.SafeCall(func() {
		var m map[string]int
		m["x"] = 1
	})
	var pe *collectors.PanicError
	if !errors.As(err, &pe) || !strings.Contains(string(pe.Stack), "TestSafeCall") {
		t.Fatalf("err = %v, want a PanicError with the stack", err)
	}
	var re runtime.Error
	if !errors.As(err, &re) || err.Error() != "panic: assignment to entry in nil map" {
		t.Errorf("err = %q, want the runtime error unwrapped", err)
	}
	if err := collectors.SafeCall(func() { panic(nil) }); err == nil {
		t.Error("panic(nil) not reported")
	}
}
