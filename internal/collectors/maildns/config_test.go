// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

type file struct {
	MailDNS Config `yaml:"mail_dns"`
}

func decode(t *testing.T, data string) (Config, error) {
	t.Helper()
	var f file
	dec := yaml.NewDecoder(bytes.NewReader([]byte(data)))
	dec.KnownFields(true)
	err := dec.Decode(&f)
	return f.MailDNS, err
}

// TestExampleIsTheDefaults: the block handed to config.example.yaml decodes
// strictly and says exactly what the defaults are.
func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	data, err := collectortest.ExampleSection("mail_dns")
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
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) }),
		cmp.Comparer(func(a, b []Domain) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })); diff != "" {
		t.Errorf("example differs from the defaults (-defaults +example):\n%s", diff)
	}
	if d.Interval != 15*time.Minute || d.Enabled {
		t.Errorf("defaults changed: %+v", d)
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	good := `
mail_dns:
  enabled: true
  resolver: {servers: ["127.0.0.1:5353"]}
  opendkim_key_table: /etc/opendkim/key.table
  domains:
    - domain: example.org
      dkim:
        - selector: mail
          key_file: /etc/opendkim/keys/example.org/mail.private
      sending_ips: [192.0.2.25, "2001:db8::25"]
    - domain: example.net
`
	c, err := decode(t, good)
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, bad := range []string{
		"mail_dns:\n  resolver: {servers: [], timeout: 1s}\n",
		"mail_dns:\n  domains: [{domain: example.org, spf: true}]\n",
		"mail_dns:\n  domains: [{domain: example.org, dkim: [{selector: a, key: /x}]}]\n",
		"mail_dns:\n  domains: [example.org]\n",
	} {
		if _, err := decode(t, bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
