// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package confval

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"0", 0, ""},
		{"30s", 30 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"7d", 7 * 24 * time.Hour, ""},
		{"1w2d", 9 * 24 * time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"250ms", 250 * time.Millisecond, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"", 0, "empty"},
		{"10", 0, "invalid duration"},
		{"5x", 0, "invalid duration"},
		{"-5s", 0, "negative"},
		{"d", 0, "invalid duration"},
		{"1..5d", 0, "invalid duration"},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseDuration(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestDurationRoundTrip(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, time.Second, 90 * time.Minute, 48 * time.Hour, 1500 * time.Millisecond} {
		back, err := ParseDuration(Duration(d).String())
		if err != nil || back != d {
			t.Errorf("%v -> %q -> %v, %v", d, Duration(d).String(), back, err)
		}
	}
}

func TestYAMLErrorsCarryLineAndContinue(t *testing.T) {
	t.Parallel()
	var v struct {
		A Duration `yaml:"a"`
		B Regexp   `yaml:"b"`
		C Duration `yaml:"c"`
	}
	err := yaml.Unmarshal([]byte("a: 5q\nb: '('\nc: 2m\n"), &v)
	te, ok := err.(*yaml.TypeError)
	if !ok {
		t.Fatalf("want *yaml.TypeError, got %T %v", err, err)
	}
	if len(te.Errors) != 2 || !strings.HasPrefix(te.Errors[0], "line 1:") || !strings.HasPrefix(te.Errors[1], "line 2:") {
		t.Errorf("errors = %q", te.Errors)
	}
	if v.C.D() != 2*time.Minute {
		t.Errorf("decoding did not continue past the errors: c = %v", v.C)
	}
}

func TestSecretRedacted(t *testing.T) {
	t.Parallel()
	s := Secret("hunter2")
	out, _ := yaml.Marshal(struct {
		K Secret `yaml:"k"`
	}{s})
	if strings.Contains(s.String(), "hunter2") || strings.Contains(string(out), "hunter2") {
		t.Errorf("secret leaked: %q %q", s.String(), out)
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30s", "7d", "1w2d3h", "1.5d", "-1s", "", "9999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Errorf("ParseDuration(%q) = %v: negative without error", s, d)
		}
	})
}
