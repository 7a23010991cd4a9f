// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

type file struct {
	Service Config `yaml:"service"`
}

func decode(t *testing.T, data string) (Config, error) {
	t.Helper()
	var f file
	dec := yaml.NewDecoder(bytes.NewReader([]byte(data)))
	dec.KnownFields(true)
	err := dec.Decode(&f)
	return f.Service, err
}

// regexpSource compares confval.Regexp by pattern.
var regexpSource = cmp.Comparer(func(a, b confval.Regexp) bool {
	if a.Regexp == nil || b.Regexp == nil {
		return a.Regexp == b.Regexp
	}
	return a.String() == b.String()
})

// TestExampleIsTheDefaults: the block handed to config.example.yaml decodes
// strictly and says exactly what the defaults are.
func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	data, err := collectortest.ExampleSection("service")
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode(t, string(data))
	if err != nil {
		t.Fatal(err)
	}
	got.ApplyDefaults()
	if errs := got.Validate(); len(errs) != 0 {
		t.Fatalf("example invalid: %v", errs)
	}
	var want Config
	want.ApplyDefaults()
	d := want.Defaults()
	if got.IsEnabled() != d.Enabled || got.Interval.D() != d.Interval || got.Timeout.D() != d.Timeout {
		t.Errorf("example schedule %v/%s/%s, defaults %v/%s/%s", got.IsEnabled(), got.Interval, got.Timeout, d.Enabled, d.Interval, d.Timeout)
	}
	got.Settings = want.Settings
	if diff := cmp.Diff(want, got, regexpSource); diff != "" {
		t.Errorf("example differs from the defaults (-defaults +example):\n%s", diff)
	}
	if d.Interval != 15*time.Second || d.Timeout != 10*time.Second || !d.Enabled {
		t.Errorf("defaults changed: %+v", d)
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{name: "good", yaml: `
service:
  backend: process
  units: [postfix@-.service]
  optional_units: []
  processes:
    - {name: postfix, comm: master, cmdline: "^/usr/lib/postfix/sbin/master"}
`},
		{name: "unknown key in section", yaml: "service:\n  unit: [a.service]\n", wantErr: "field unit not found"},
		{name: "unknown key in a process", yaml: "service:\n  processes:\n    - {name: x, comm: x, pid_file: /x}\n", wantErr: "field pid_file not found"},
		{name: "bad regexp", yaml: "service:\n  processes:\n    - {name: x, comm: x, cmdline: \"(\"}\n", wantErr: "invalid regular expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := decode(t, tc.yaml)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.ApplyDefaults()
			if errs := c.Validate(); len(errs) != 0 {
				t.Errorf("valid config refused: %v", errs)
			}
			if len(c.OptionalUnits) != 0 {
				t.Errorf("optional_units: [] became %v", c.OptionalUnits)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	on := true
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		want   []string // error texts, in order
	}{
		{name: "defaults", modify: func(*Config) {}},
		{name: "backend", modify: func(c *Config) { c.Backend = "sysvinit" }, want: []string{`backend: must be "auto", "systemd" or "process", got "sysvinit"`}},
		{name: "unit names", modify: func(c *Config) {
			c.Units = []string{"postfix", "postfix@.service", "dovecot*.service", "", "dovecot.service", "x.foo"}
			c.OptionalUnits = []string{"dovecot.service", "ok.socket", "var-mail.mount"}
		}, want: []string{
			`units[0]: "postfix" does not end in a unit type such as .service; write "postfix.service"?`,
			`units[1]: "postfix@.service" is a template, not a unit; name an instance, e.g. postfix@-.service`,
			`units[2]: "dovecot*.service" has characters systemd does not allow in unit names (no patterns)`,
			`units[3]: "" is empty`,
			`units[5]: "x.foo" does not end in a unit type such as .service; write "x.foo.service"?`,
			`optional_units[0]: "dovecot.service" is listed twice`,
		}},
		{name: "processes", modify: func(c *Config) {
			c.Processes = []Process{
				{Name: "", Comm: "x"},
				{Name: "a b", Comm: "x"},
				{Name: "p", Pidfile: "run/p.pid", Executable: "/usr/sbin/../sbin/p"},
				{Name: "p", Comm: "much-too-long-name"},
				{Name: "q", Cmdline: mustRegexp("q")},
				{Name: "r"},
				{Name: "s", Comm: "a/b"},
			}
		}, want: []string{
			`processes[0].name: is required`,
			`processes[1].name: "a b" may only have letters, digits and :-_.@`,
			`processes[2].pidfile: must be an absolute path, got "run/p.pid"`,
			`processes[2].executable: "/usr/sbin/../sbin/p" is not clean; write "/usr/sbin/p"`,
			`processes[3].name: "p" is listed twice`,
			`processes[3].comm: "much-too-long-name" is not a process name: the kernel keeps at most 15 bytes and no /`,
			`processes[4].cmdline: only narrows comm: set comm too`,
			`processes[5]: set pidfile or comm: nothing identifies the process`,
			`processes[6].comm: "a/b" is not a process name: the kernel keeps at most 15 bytes and no /`,
		}},
		{name: "nothing to watch", modify: func(c *Config) {
			c.Enabled = &on
			c.Backend = BackendSystemd
			c.Units, c.OptionalUnits = []string{}, []string{}
		}, want: []string{`units: backend systemd but no units to watch`}},
		{name: "nothing to watch, process", modify: func(c *Config) {
			c.Enabled = &on
			c.Backend = BackendProcess
			c.Processes = []Process{}
		}, want: []string{`processes: backend process but no processes to watch`}},
		{name: "too many", modify: func(c *Config) {
			c.Units = nil
			for i := range maxServices {
				c.Units = append(c.Units, "u"+strings.Repeat("x", i)+".service")
			}
		}, want: []string{`units: 54 units with optional_units, more than 50`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c Config
			c.ApplyDefaults()
			tc.modify(&c)
			var got []string
			for _, err := range c.Validate() {
				got = append(got, err.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnitType(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postfix@-.service": "Service",
		"var-mail.mount":    "Mount",
		"x.socket":          "Socket",
		"mail.target":       "Target",
	} {
		if got := unitType(in); got != want {
			t.Errorf("unitType(%q) = %q, want %q", in, got, want)
		}
	}
	if !hasCgroup("Service") || hasCgroup("Target") || hasCgroup("Timer") {
		t.Error("hasCgroup wrong")
	}
}

// TestSeriesBudget pins the most series the collector can export.
func TestSeriesBudget(t *testing.T) {
	t.Parallel()
	perService := len(States) + 6 // state + present, check, restarts, start, memory, cpu
	if perService != 12 {
		t.Errorf("%d series per service, the README says 12", perService)
	}
	var c Config
	c.ApplyDefaults()
	if n := (len(c.Units) + len(c.OptionalUnits)) * perService; n != 96 {
		t.Errorf("default systemd config: %d series at most, want 96", n)
	}
	if n := maxServices * perService; n > 600 {
		t.Errorf("largest config: %d series", n)
	}
}
