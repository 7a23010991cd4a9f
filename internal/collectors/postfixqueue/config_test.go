// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/confval"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	var c Config
	c.ApplyDefaults()
	want := Config{
		Spools:        []Spool{{Path: "/var/spool/postfix", Name: "postfix"}},
		Sources:       []string{"showq", "walk"},
		PostqueuePath: "/usr/sbin/postqueue",
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if errs := c.Validate(); len(errs) > 0 {
		t.Errorf("defaults do not validate: %v", errs)
	}
	d := c.Defaults()
	if !d.Enabled || d.Interval != 30*time.Second || d.Timeout >= d.Interval || d.MinInterval > d.Interval {
		t.Errorf("scheduling defaults %+v: want enabled, 30s, timeout < interval, min <= interval", d)
	}
}

// exampleYAML is the section handed to config.example.yaml; it must decode
// strictly and validate.
const exampleYAML = `
enabled: true
interval: 30s
timeout: 20s
spools:
  - path: /var/spool/postfix
    name: postfix
    config_directory: ""
  - path: /var/spool/postfix-out
sources: [showq, walk]
postqueue_path: /usr/sbin/postqueue
top_deferred_domains: 0
`

func decodeStrict(t *testing.T, src string) (Config, error) {
	t.Helper()
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

func TestConfigYAML(t *testing.T) {
	t.Parallel()
	c, err := decodeStrict(t, exampleYAML)
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if errs := c.Validate(); len(errs) > 0 {
		t.Errorf("example does not validate: %v", errs)
	}
	if got := c.Spools[1].Name; got != "postfix-out" {
		t.Errorf("second spool name = %q, want the base name postfix-out", got)
	}
	for _, bad := range []string{
		"spools:\n  - path: /var/spool/postfix\n    nmae: x\n",
		"sorces: [showq]\n",
		"top_deferred_domains: many\n",
	} {
		if _, err := decodeStrict(t, bad); err == nil {
			t.Errorf("decoding %q: want an error (unknown key or bad type)", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []string // FieldError paths
	}{
		{name: "ok", cfg: Config{}},
		{name: "relative spool", cfg: Config{Spools: []Spool{{Path: "var/spool/postfix"}}}, want: []string{"spools[0].path"}},
		{name: "unclean spool", cfg: Config{Spools: []Spool{{Path: "/var/spool/postfix/"}}}, want: []string{"spools[0].path"}},
		{
			name: "same name twice",
			cfg:  Config{Spools: []Spool{{Path: "/a/postfix"}, {Path: "/b/postfix"}}},
			want: []string{"spools[1].name"},
		},
		{name: "same path twice", cfg: Config{Spools: []Spool{{Path: "/a", Name: "a"}, {Path: "/a", Name: "b"}}}, want: []string{"spools[1].path"}},
		{name: "bad name", cfg: Config{Spools: []Spool{{Path: "/a", Name: "a b"}}}, want: []string{"spools[0].name"}},
		{name: "relative config dir", cfg: Config{Spools: []Spool{{Path: "/a", ConfigDirectory: "etc"}}}, want: []string{"spools[0].config_directory"}},
		{name: "no spools", cfg: Config{Spools: []Spool{}}, want: []string{"spools"}},
		{name: "no sources", cfg: Config{Sources: []string{}}, want: []string{"sources"}},
		{name: "bad and twice source", cfg: Config{Sources: []string{"showq", "mailq", "showq"}}, want: []string{"sources[1]", "sources[2]"}},
		{name: "relative postqueue", cfg: Config{PostqueuePath: "postqueue"}, want: []string{"postqueue_path"}},
		{name: "top too big", cfg: Config{TopDeferredDomains: 51}, want: []string{"top_deferred_domains"}},
		{name: "top negative", cfg: Config{TopDeferredDomains: -1}, want: []string{"top_deferred_domains"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.cfg
			c.ApplyDefaults()
			var got []string
			for _, err := range c.Validate() {
				var fe *confval.FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("%v is not a *confval.FieldError", err)
				}
				got = append(got, fe.Path)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error paths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{Sources: []string{"mailq"}}, nil); err == nil {
		t.Error("New with an unknown source: want an error")
	}
}
