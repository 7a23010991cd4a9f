// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package confval holds the scalar value types used in mailwatchd's YAML
// configuration. They decode from a single YAML scalar and report errors as
// *yaml.TypeError carrying the line, so that the config loader can keep going
// and list every problem of a file at once.
package confval

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration that also accepts the units d (24h) and w (7d),
// as in "15s", "10m", "1h30m", "7d". A bare "0" is zero.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration the way ParseDuration reads it back.
func (d Duration) String() string {
	td := time.Duration(d)
	if td != 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	return td.String()
}

// ParseDuration parses a duration with Go's units plus d and w. Negative
// durations are refused: no mailwatchd setting means anything by them.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if s == "0" {
		return 0, nil
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q (use a number and a unit: ms, s, m, h, d, w)", s)
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		var mult time.Duration
		switch unit {
		case "d":
			mult = 24 * time.Hour
		case "w":
			mult = 7 * 24 * time.Hour
		default:
			p, err := time.ParseDuration(num + unit)
			if err != nil || unit == "" {
				return 0, fmt.Errorf("invalid duration %q (use a number and a unit: ms, s, m, h, d, w)", s)
			}
			if total > math.MaxInt64-p {
				return 0, fmt.Errorf("duration %q is too long", s)
			}
			total += p
			continue
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		add := f * float64(mult)
		if add >= math.MaxInt64 || float64(total)+add >= math.MaxInt64 {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		total += time.Duration(add)
	}
	return total, nil
}

// UnmarshalYAML implements yaml.Unmarshaler on the scalar only (never on a
// struct: see go-yaml#460, a node unmarshaler on a struct silently disables
// KnownFields for its subtree).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return typeErr(n, "expected a duration such as 30s, 10m or 7d")
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return typeErr(n, err.Error())
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration in its parseable form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Regexp is a regular expression compiled when the config is loaded, so that
// a bad pattern is a config error with its line, not a runtime surprise.
type Regexp struct {
	*regexp.Regexp
}

// UnmarshalYAML compiles the pattern (RE2 syntax, unanchored).
func (r *Regexp) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return typeErr(n, "expected a regular expression string")
	}
	re, err := regexp.Compile(n.Value)
	if err != nil {
		return typeErr(n, fmt.Sprintf("invalid regular expression %q: %v", n.Value, err))
	}
	r.Regexp = re
	return nil
}

// MarshalYAML writes the source pattern.
func (r Regexp) MarshalYAML() (any, error) {
	if r.Regexp == nil {
		return "", nil
	}
	return r.String(), nil
}

// Secret is a string that never prints: String and MarshalYAML redact it.
type Secret string

// String redacts the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// MarshalYAML redacts the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// typeErr builds the error form yaml.v3 accumulates instead of aborting.
func typeErr(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}
