// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectortest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Section is a pointer to a collector's config struct C, the type the
// config loader sees as a collectors.Section.
type Section[C any] interface {
	*C
	collectors.Section
}

// Decode decodes the YAML of one collector section (the keys under its
// name) strictly, as the config loader does: an unknown key is an error.
func Decode[C any](data string) (C, error) {
	var c C
	dec := yaml.NewDecoder(strings.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

// ExampleIsTheDefaults checks that the collectors.<name> block of
// config.example.yaml decodes strictly into a C, validates, and says
// exactly what the defaults are: its scheduling keys are the section's
// Defaults, which must be want (a change of them is a decision, made here
// too), and every other key is written out with the value ApplyDefaults
// gives a zero C (an empty list equals an absent one, a regular expression
// its pattern). It returns the defaults, for the package's own checks.
func ExampleIsTheDefaults[C any, P Section[C]](t testing.TB, name string, want collectors.Defaults) C {
	t.Helper()
	data, err := ExampleSection(name)
	if err != nil {
		t.Fatal(err)
	}
	file, err := Decode[map[string]C](string(data))
	if err != nil {
		t.Fatalf("collectors.%s in config.example.yaml: %v", name, err)
	}
	got := file[name]
	var defaults C
	P(&defaults).ApplyDefaults()
	d := P(&defaults).Defaults()
	if d != want {
		t.Errorf("scheduling defaults %+v, want %+v", d, want)
	}
	if s := P(&got).Common(); s.IsEnabled() != d.Enabled || s.Interval.D() != d.Interval || s.Timeout.D() != d.Timeout {
		t.Errorf("example schedule %v/%s/%s, defaults %v/%s/%s", s.IsEnabled(), s.Interval, s.Timeout, d.Enabled, d.Interval, d.Timeout)
	}
	schedule := *P(&got).Common()
	*P(&got).Common() = *P(&defaults).Common()
	if diff := cmp.Diff(defaults, got, cmpopts.EquateEmpty(), regexpSource); diff != "" {
		t.Errorf("example differs from the defaults (-defaults +example):\n%s", diff)
	}
	*P(&got).Common() = schedule
	P(&got).ApplyDefaults()
	if errs := P(&got).Validate(); len(errs) != 0 {
		t.Errorf("example invalid: %v", errs)
	}
	return defaults
}

// regexpSource compares regular expressions by their pattern.
var regexpSource = cmp.Comparer(func(a, b confval.Regexp) bool {
	if a.Regexp == nil || b.Regexp == nil {
		return a.Regexp == b.Regexp
	}
	return a.String() == b.String()
})

// Case is one row of a config validation table: a section, given as YAML
// or as a C, and the problems Validate must find in it.
type Case[C any] struct {
	Name string
	// YAML, when set, is the section (the keys under its name), decoded
	// strictly in place of Config.
	YAML string
	// Config is the section before ApplyDefaults.
	Config C
	// Modify, when set, changes the section after ApplyDefaults.
	Modify func(*C)
	// Want are the problems, in order: the text of each contains its Want
	// (write "path: message" to pin both).
	Want []string
	// DecodeError, when set, is part of the error YAML must fail to decode
	// with; Want is then not checked.
	DecodeError string
}

// Validation runs a validation table, each case as a parallel subtest:
// decode (for YAML cases), ApplyDefaults, Modify, then Validate, whose
// problems must all be *confval.FieldError and match Want.
func Validation[C any, P Section[C]](t *testing.T, cases []Case[C]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			c := tc.Config
			if tc.YAML != "" {
				var err error
				c, err = Decode[C](tc.YAML)
				if tc.DecodeError != "" {
					if err == nil || !strings.Contains(err.Error(), tc.DecodeError) {
						t.Fatalf("decode: got %v, want an error containing %q", err, tc.DecodeError)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			P(&c).ApplyDefaults()
			if tc.Modify != nil {
				tc.Modify(&c)
			}
			if err := checkProblems(P(&c).Validate(), tc.Want); err != nil {
				t.Error(err)
			}
		})
	}
}

// checkProblems reports how errs differ from want: in number, in kind
// (not a *confval.FieldError) or in text.
func checkProblems(errs []error, want []string) error {
	got := make([]string, len(errs))
	for i, e := range errs {
		got[i] = e.Error()
		var fe *confval.FieldError
		if !errors.As(e, &fe) {
			return fmt.Errorf("problem %d %q is not a *confval.FieldError", i, got[i])
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	var bad []string
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			bad = append(bad, fmt.Sprintf("problem %d: %q does not contain %q", i, got[i], w))
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "\n"))
	}
	return nil
}
