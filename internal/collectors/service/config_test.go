// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"strings"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: 15 * time.Second, Timeout: 10 * time.Second, MinInterval: 5 * time.Second})
}

const goodYAML = `
backend: process
units: [postfix@-.service]
optional_units: []
processes:
  - {name: postfix, comm: master, cmdline: "^/usr/lib/postfix/sbin/master"}
`

// TestEmptyListStaysEmpty: optional_units: [] means none, not the default
// list.
func TestEmptyListStaysEmpty(t *testing.T) {
	t.Parallel()
	c, err := collectortest.Decode[Config](goodYAML)
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if len(c.OptionalUnits) != 0 {
		t.Errorf("optional_units: [] became %v", c.OptionalUnits)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	on := true
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults"},
		{Name: "good", YAML: goodYAML},
		{Name: "unknown key in section", YAML: "unit: [a.service]", DecodeError: "field unit not found"},
		{Name: "unknown key in a process", YAML: "processes:\n  - {name: x, comm: x, pid_file: /x}", DecodeError: "field pid_file not found"},
		{Name: "bad regexp", YAML: "processes:\n  - {name: x, comm: x, cmdline: \"(\"}", DecodeError: "invalid regular expression"},
		{Name: "timers", Modify: func(c *Config) {
			c.Timers = []string{"certbot.timer", "certbot.service", "backup*.timer", "certbot.timer"}
			c.CertbotLogDir = "var/log/letsencrypt"
		}, Want: []string{
			`timers[2]: "backup*.timer" has characters systemd does not allow in unit names (no patterns)`,
			`timers[3]: "certbot.timer" is listed twice`,
			`timers[1]: "certbot.service" is not a timer unit (name.timer)`,
			`certbot_log_dir: must be an absolute path`,
		}},
		{Name: "backend", Modify: func(c *Config) { c.Backend = "sysvinit" }, Want: []string{`backend: must be "auto", "systemd" or "process", got "sysvinit"`}},
		{Name: "unit names", Modify: func(c *Config) {
			c.Units = []string{"postfix", "postfix@.service", "dovecot*.service", "", "dovecot.service", "x.foo"}
			c.OptionalUnits = []string{"dovecot.service", "ok.socket", "var-mail.mount"}
		}, Want: []string{
			`units[0]: "postfix" does not end in a unit type such as .service; write "postfix.service"?`,
			`units[1]: "postfix@.service" is a template, not a unit; name an instance, e.g. postfix@-.service`,
			`units[2]: "dovecot*.service" has characters systemd does not allow in unit names (no patterns)`,
			`units[3]: "" is empty`,
			`units[5]: "x.foo" does not end in a unit type such as .service; write "x.foo.service"?`,
			`optional_units[0]: "dovecot.service" is listed twice`,
		}},
		{Name: "processes", Modify: func(c *Config) {
			c.Processes = []Process{
				{Name: "", Comm: "x"},
				{Name: "a b", Comm: "x"},
				{Name: "p", Pidfile: "run/p.pid", Executable: "/usr/sbin/../sbin/p"},
				{Name: "p", Comm: "much-too-long-name"},
				{Name: "q", Cmdline: mustRegexp("q")},
				{Name: "r"},
				{Name: "s", Comm: "a/b"},
			}
		}, Want: []string{
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
		{Name: "nothing to watch", Modify: func(c *Config) {
			c.Enabled = &on
			c.Backend = BackendSystemd
			c.Units, c.OptionalUnits = []string{}, []string{}
		}, Want: []string{`units: backend systemd but no units to watch`}},
		{Name: "nothing to watch, process", Modify: func(c *Config) {
			c.Enabled = &on
			c.Backend = BackendProcess
			c.Processes = []Process{}
		}, Want: []string{`processes: backend process but no processes to watch`}},
		{Name: "too many", Modify: func(c *Config) {
			c.Units = nil
			for i := range maxServices {
				c.Units = append(c.Units, "u"+strings.Repeat("x", i)+".service")
			}
		}, Want: []string{`units: 54 units with optional_units, more than 50`}},
	})
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
