// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: 15 * time.Minute, Timeout: 5 * time.Minute, MinInterval: time.Minute})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults", YAML: "{}"},
		{Name: "vhosts", YAML: "{roots: [{path: '/var/mail/vhosts/*/*'}], domains: 5, quota: {enabled: true, doveadm: /usr/bin/doveadm, users: [a, b@example.org]}}"},
		{Name: "empty roots", YAML: "{roots: []}"},
		{
			Name: "bad roots",
			YAML: "{roots: [{path: 'var/mail/*'}, {path: '/home/./*/Maildir'}, {path: /var/mail/root}, {path: '/srv/**'}, {path: '/srv/[a'}, {path: '/h/*', format: mh}, {path: '/h/*'}]}",
			Want: []string{
				`roots[0].path: must be an absolute path`,
				`roots[1].path: "/home/./*/Maildir" is not clean`,
				`roots[2].path: "/var/mail/root" has no wildcard`,
				`roots[3].path: ** is not supported`,
				`roots[4].path: bad pattern "[a"`,
				`roots[5].format: must be "maildir" or "mbox", got "mh"`,
				`roots[6].path: "/h/*" is listed twice`,
			},
		},
		{
			Name: "bounds",
			YAML: "{top: 501, domains: -1, max_mailboxes: -3}",
			Want: []string{"top: must be between 1 and 500", "domains: must be between 0 (off) and 200", "max_mailboxes: must be between 1"},
		},
		{
			Name: "quota",
			YAML: "{quota: {doveadm: bin/doveadm, users: ['', '-A', 'a b', x, x]}}",
			Want: []string{
				`quota.doveadm: must be a program name or a clean absolute path`,
				`quota.users[0]: "" is not a user name`,
				`quota.users[1]: "-A" is not a user name`,
				`quota.users[2]: "a b" is not a user name`,
				`quota.users[4]: "x" is listed twice`,
			},
		},
		{Name: "unknown key", YAML: "{rots: []}", DecodeError: "field rots not found"},
		{Name: "unknown key in a root", YAML: "{roots: [{path: /a/*, fmt: mbox}]}", DecodeError: "field fmt not found"},
		{Name: "unknown key in quota", YAML: "{quota: {user: [a]}}", DecodeError: "field user not found"},
	})
}
