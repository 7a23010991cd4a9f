// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectors

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// Collectors build their metrics with Gauge, Counter or Metric, never with
// prometheus.MustNewConstMetric directly: label values often come from the
// host (file names, mailbox directories, mount points, mail domains, jail
// names) and may be any bytes, while a label value that is not valid UTF-8
// makes MustNewConstMetric panic and would fail the whole run.

// Gauge is a const gauge whose label values pass through LabelValue.
func Gauge(d *prometheus.Desc, v float64, labelValues ...string) prometheus.Metric {
	return Metric(d, prometheus.GaugeValue, v, labelValues...)
}

// Counter is a const counter whose label values pass through LabelValue.
func Counter(d *prometheus.Desc, v float64, labelValues ...string) prometheus.Metric {
	return Metric(d, prometheus.CounterValue, v, labelValues...)
}

// Metric is a const metric whose label values pass through LabelValue. It
// panics only when the number of label values does not match d, which is a
// programming error. The caller's slice is never modified.
func Metric(d *prometheus.Desc, t prometheus.ValueType, v float64, labelValues ...string) prometheus.Metric {
	for i, s := range labelValues {
		if needsEscape(s) {
			lvs := slices.Clone(labelValues)
			for j := i; j < len(lvs); j++ {
				lvs[j] = LabelValue(lvs[j])
			}
			labelValues = lvs
			break
		}
	}
	return prometheus.MustNewConstMetric(d, t, v, labelValues...)
}

// LabelValue returns s as a label value, which must be valid UTF-8.
//
// A value that is valid UTF-8 is returned unchanged, unless it contains a
// backslash, "x" and two lowercase hex digits from 80 to ff (`\xff`): the
// spelling of an escaped byte. Any other value is escaped: each byte that
// is not part of a valid UTF-8 sequence becomes `\xNN` (two lowercase hex
// digits, always 80 to ff) and each backslash becomes `\\`; everything
// else is kept. So the byte 0xff in /etc/ssl/<0xff>.pem gives
// `/etc/ssl/\xff.pem`, and a file really named `/etc/ssl/\xff.pem` gives
// `/etc/ssl/\\xff.pem`; a systemd unit such as `foo\x2dbar.service` is
// kept as it is.
//
// The mapping is injective, so two different inputs never share a series:
// every escaped value contains an escaped byte's spelling (from an invalid
// byte, or from one already in the input, whose backslash was doubled) and
// no unchanged value does, and the escaping itself can be undone (`\\` is
// a backslash, `\xNN` a byte). No rule that keeps every valid value
// unchanged can be injective: an escaped value is valid UTF-8 too, and so
// the label of that very string.
func LabelValue(s string) string {
	if !needsEscape(s) {
		return s
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
			i++
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteString(`\x`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
		}
	}
	return b.String()
}

// needsEscape reports whether s is not valid UTF-8 or contains `\xNN`
// with NN from 80 to ff, lowercase.
func needsEscape(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for {
		i := strings.Index(s, `\x`)
		if i < 0 || i+4 > len(s) {
			return false
		}
		if s[i+2] >= '8' && isHex(s[i+2]) && isHex(s[i+3]) {
			return true
		}
		s = s[i+1:]
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

// B2F is 1 for true and 0 for false.
func B2F(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// PanicError is a panic recovered by SafeCall.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the stack of the panicking goroutine
}

// Error is the panic value without the stack, so that the same panic gives
// the same message every run.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error (a runtime.Error).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// SafeCall runs f and returns the panic it raised, if any, as a
// *PanicError. Collectors use it around the work on one target, so that a
// bug triggered by one file or host costs that target only: it is reported
// as failed, and the other targets are still exported.
func SafeCall(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	f()
	return nil
}
