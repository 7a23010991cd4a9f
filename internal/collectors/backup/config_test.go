// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package backup

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
	Backup Config `yaml:"backup"`
}

func decode(t *testing.T, data string) (Config, error) {
	t.Helper()
	var f file
	dec := yaml.NewDecoder(bytes.NewReader([]byte(data)))
	dec.KnownFields(true)
	err := dec.Decode(&f)
	return f.Backup, err
}

// TestExampleIsTheDefaults: the block handed to config.example.yaml decodes
// strictly and says exactly what the defaults are.
func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	data, err := collectortest.ExampleSection("backup")
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
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b []Set) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })); diff != "" {
		t.Errorf("example differs from the defaults (-defaults +example):\n%s", diff)
	}
	if d.Interval != 15*time.Minute || !d.Enabled || want.VerifyInterval.D() != 24*time.Hour {
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
		{name: "defaults", yaml: "backup: {}"},
		{name: "good", yaml: "backup: {sets: [{name: mail_backup, path: '/root/mail-backup-*.tar.gz', verify: true, min_size_bytes: 10, min_entries: 2}, {name: dump, path: '/srv/*.dump', verify: true, format: zst}, {name: plain, path: '/srv/*'}]}"},
		{
			name: "bad sets",
			yaml: `backup: {sets: [
				{name: Mail, path: 'root/*.tar.gz'},
				{name: a, path: '/srv/*/x.tar.gz'},
				{name: a, path: '/srv/./x*.tgz'},
				{name: b, path: '/srv/[x.tgz'},
				{name: c, path: '/srv/*', verify: true},
				{name: d, path: '/srv/*.gz', verify: true, min_entries: 3},
				{name: e, path: '/srv/*.tgz', min_size_bytes: -1, format: rar},
				{name: f, path: '/srv/*.tgz', min_size_bytes: 10}]}`,
			want: []string{
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
			name: "verification settings",
			yaml: "backup: {verify_interval: 30s, verify_timeout: 10ms, verify_read_bytes_per_second: 1000}",
			want: []string{"verify_interval: must be at least 1m", "verify_timeout: must be at least 1s", "verify_read_bytes_per_second: must be at least 65536"},
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
	for _, y := range []string{"backup: {set: []}", "backup: {sets: [{name: a, path: /a/*, verfy: true}]}"} {
		if _, err := decode(t, y); err == nil {
			t.Errorf("%s: unknown key accepted", y)
		}
	}
}
