// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	c := collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: 30 * time.Second, Timeout: 20 * time.Second, MinInterval: 10 * time.Second})
	want := Config{
		Spools:        []Spool{{Path: "/var/spool/postfix", Name: "postfix"}},
		Sources:       []string{"showq", "walk"},
		PostqueuePath: "/usr/sbin/postqueue",
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// TestSpoolNameDefaultsToBaseName: a spool without a name is named after
// the last element of its path.
func TestSpoolNameDefaultsToBaseName(t *testing.T) {
	t.Parallel()
	c, err := collectortest.Decode[Config]("spools:\n  - path: /var/spool/postfix\n    name: postfix\n  - path: /var/spool/postfix-out\n")
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if got := c.Spools[1].Name; got != "postfix-out" {
		t.Errorf("second spool name = %q, want the base name postfix-out", got)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "ok"},
		{Name: "relative spool", Config: Config{Spools: []Spool{{Path: "var/spool/postfix"}}}, Want: []string{"spools[0].path: "}},
		{Name: "unclean spool", Config: Config{Spools: []Spool{{Path: "/var/spool/postfix/"}}}, Want: []string{"spools[0].path: "}},
		{Name: "same name twice", Config: Config{Spools: []Spool{{Path: "/a/postfix"}, {Path: "/b/postfix"}}}, Want: []string{"spools[1].name: "}},
		{Name: "same path twice", Config: Config{Spools: []Spool{{Path: "/a", Name: "a"}, {Path: "/a", Name: "b"}}}, Want: []string{"spools[1].path: "}},
		{Name: "bad name", Config: Config{Spools: []Spool{{Path: "/a", Name: "a b"}}}, Want: []string{"spools[0].name: "}},
		{Name: "relative config dir", Config: Config{Spools: []Spool{{Path: "/a", ConfigDirectory: "etc"}}}, Want: []string{"spools[0].config_directory: "}},
		{Name: "no spools", Config: Config{Spools: []Spool{}}, Want: []string{"spools: "}},
		{Name: "no sources", Config: Config{Sources: []string{}}, Want: []string{"sources: "}},
		{Name: "bad and twice source", Config: Config{Sources: []string{"showq", "mailq", "showq"}}, Want: []string{"sources[1]: ", "sources[2]: "}},
		{Name: "relative postqueue", Config: Config{PostqueuePath: "postqueue"}, Want: []string{"postqueue_path: "}},
		{Name: "top too big", Config: Config{TopDeferredDomains: 51}, Want: []string{"top_deferred_domains: "}},
		{Name: "top negative", Config: Config{TopDeferredDomains: -1}, Want: []string{"top_deferred_domains: "}},
		{Name: "unknown key in a spool", YAML: "spools:\n  - path: /var/spool/postfix\n    nmae: x\n", DecodeError: "field nmae not found"},
		{Name: "unknown key", YAML: "sorces: [showq]", DecodeError: "field sorces not found"},
		{Name: "not a number", YAML: "top_deferred_domains: many", DecodeError: "cannot unmarshal"},
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{Sources: []string{"mailq"}}, nil); err == nil {
		t.Error("New with an unknown source: want an error")
	}
}
