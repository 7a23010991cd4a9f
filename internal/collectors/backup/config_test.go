// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package backup

import (
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	c := collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: 15 * time.Minute, Timeout: time.Minute, MinInterval: time.Minute})
	if c.VerifyInterval.D() != 24*time.Hour {
		t.Errorf("verify_interval %s, want 24h", c.VerifyInterval)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults", YAML: "{}"},
		{Name: "good", YAML: "{sets: [{name: mail_backup, path: '/root/mail-backup-*.tar.gz', verify: true, min_size_bytes: 10, min_entries: 2}, {name: dump, path: '/srv/*.dump', verify: true, format: zst}, {name: plain, path: '/srv/*'}]}"},
		{
			Name: "bad sets",
			YAML: `{sets: [
				{name: Mail, path: 'root/*.tar.gz'},
				{name: a, path: '/srv/*/x.tar.gz'},
				{name: a, path: '/srv/./x*.tgz'},
				{name: b, path: '/srv/[x.tgz'},
				{name: c, path: '/srv/*', verify: true},
				{name: d, path: '/srv/*.gz', verify: true, min_entries: 3},
				{name: e, path: '/srv/*.tgz', min_size_bytes: -1, format: rar},
				{name: f, path: '/srv/*.tgz', min_size_bytes: 10}]}`,
			Want: []string{
				`sets[0].name: must be snake_case, got "Mail"`,
				`sets[0].path: must be an absolute path`,
				`sets[1].path: wildcards are allowed in the file name only`,
				`sets[2].name: "a" is used twice`,
				`sets[2].path: "/srv/./x*.tgz" is not clean`,
				`sets[3].path: bad pattern "[x.tgz"`,
				`sets[4].format: cannot tell the archive format from "*"; set format`,
				`sets[5].min_entries: needs a tar format, got "gz"`,
				`sets[6].format: must be one of tar.gz, tar.bz2`,
				`sets[6].min_size_bytes: must not be negative`,
				`sets[7].verify: min_size_bytes and min_entries are checked by verification`,
			},
		},
		{
			Name: "verification settings",
			YAML: "{verify_interval: 30s, verify_timeout: 10ms, verify_read_bytes_per_second: 1000}",
			Want: []string{"verify_interval: must be at least 1m", "verify_timeout: must be at least 1s", "verify_read_bytes_per_second: must be at least 65536"},
		},
		{Name: "unknown key", YAML: "{set: []}", DecodeError: "field set not found"},
		{Name: "unknown key in a set", YAML: "{sets: [{name: a, path: /a/*, verfy: true}]}", DecodeError: "field verfy not found"},
	})
}
