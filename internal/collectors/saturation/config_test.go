// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package saturation

import (
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: 30 * time.Second, Timeout: 10 * time.Second, MinInterval: 5 * time.Second})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults"},
		{Name: "instances", Config: Config{Postfix: Postfix{Instances: []Instance{
			{ConfigDirectory: "/etc/postfix"}, {ConfigDirectory: "etc/postfix-out"}, {ConfigDirectory: "/etc/postfix"}, {ConfigDirectory: "/etc/b/postfix"}, {ConfigDirectory: "/etc/x", Name: "bad name"},
		}}}, Want: []string{
			`postfix.instances[1].config_directory: must be an absolute path`,
			`postfix.instances[2].config_directory: "/etc/postfix" is listed twice`,
			`postfix.instances[2].name: instance name "postfix" is used twice; set name to tell the instances apart`,
			`postfix.instances[3].name: instance name "postfix" is used twice; set name to tell the instances apart`,
			`postfix.instances[4].name: "bad name" is not a valid instance name (letters, digits, '_', '.', '-'; 63 at most)`,
		}},
		{Name: "programs and services", Config: Config{Postfix: Postfix{Postconf: "bin/postconf"}, Dovecot: Dovecot{Doveconf: "/usr/bin/../doveconf", Services: []string{"imap", "Imap Login", "imap"}}, MaxServices: 500}, Want: []string{
			`postfix.postconf: must be a program name or a clean absolute path, got "bin/postconf"`,
			`dovecot.doveconf: must be a program name or a clean absolute path, got "/usr/bin/../doveconf"`,
			`dovecot.services[1]: "Imap Login" is not a Dovecot service name`,
			`dovecot.services[2]: "imap" is listed twice`,
			`max_services: must be between 1 and 200, got 500`,
		}},
		{Name: "both off", YAML: "enabled: true\npostfix: {enabled: false}\ndovecot: {enabled: false}", Want: []string{`enabled but postfix and dovecot are both off`}},
		{Name: "unknown key", YAML: "postfix: {instance: []}", DecodeError: "field instance not found"},
	})
}
