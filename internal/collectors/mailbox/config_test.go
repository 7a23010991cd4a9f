// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

type file struct {
	Mailbox Config `yaml:"mailbox"`
}

func decode(t *testing.T, data string) (Config, error) {
	t.Helper()
	var f file
	dec := yaml.NewDecoder(bytes.NewReader([]byte(data)))
	dec.KnownFields(true)
	err := dec.Decode(&f)
	return f.Mailbox, err
}

// TestExampleIsTheDefaults: the block handed to config.example.yaml decodes
// strictly and says exactly what the defaults are.
func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	data, err := collectortest.ExampleSection("mailbox")
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
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })); diff != "" {
		t.Errorf("example differs from the defaults (-defaults +example):\n%s", diff)
	}
	if d.Interval != 15*time.Minute || !d.Enabled {
		t.Errorf("defaults changed: %+v", d)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "defaults", yaml: "mailbox: {}"},
		{name: "vhosts", yaml: "mailbox: {roots: [{path: '/var/mail/vhosts/*/*'}], domains: 5, quota: {enabled: true, doveadm: /usr/bin/doveadm, users: [a, b@example.org]}}"},
		{name: "empty roots", yaml: "mailbox: {roots: []}"},
		{
			name: "bad roots",
			yaml: "mailbox: {roots: [{path: 'var/mail/*'}, {path: '/home/./*/Maildir'}, {path: /var/mail/root}, {path: '/srv/**'}, {path: '/srv/[a'}, {path: '/h/*', format: mh}, {path: '/h/*'}]}",
			want: []string{
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
			name: "bounds",
			yaml: "mailbox: {top: 501, domains: -1, max_mailboxes: -3}",
			want: []string{"top: must be between 1 and 500", "domains: must be between 0 (off) and 200", "max_mailboxes: must be between 1"},
		},
		{
			name: "quota",
			yaml: "mailbox: {quota: {doveadm: bin/doveadm, users: ['', '-A', 'a b', x, x]}}",
			want: []string{
				`quota.doveadm: must be a program name or a clean absolute path`,
				`quota.users[0]: "" is not a user name`,
				`quota.users[1]: "-A" is not a user name`,
				`quota.users[2]: "a b" is not a user name`,
				`quota.users[4]: "x" is listed twice`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decode(t, tc.yaml)
			if err != nil {
				t.Fatal(err)
			}
			c.ApplyDefaults()
			var got []string
			for _, e := range c.Validate() {
				got = append(got, e.Error())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d: %q does not contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestUnknownKeyRejected(t *testing.T) {
	t.Parallel()
	for _, y := range []string{"mailbox: {rots: []}", "mailbox: {roots: [{path: /a/*, fmt: mbox}]}", "mailbox: {quota: {user: [a]}}"} {
		if _, err := decode(t, y); err == nil {
			t.Errorf("%s: unknown key accepted", y)
		}
	}
}
