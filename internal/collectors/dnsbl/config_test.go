// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsbl

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

type file struct {
	DNSBL Config `yaml:"dnsbl"`
}

func decode(t *testing.T, data string) (Config, error) {
	t.Helper()
	var f file
	dec := yaml.NewDecoder(bytes.NewReader([]byte(data)))
	dec.KnownFields(true)
	err := dec.Decode(&f)
	return f.DNSBL, err
}

// TestExampleIsTheDefaults: the block handed to config.example.yaml decodes
// strictly and says exactly what the defaults are.
func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	data, err := collectortest.ExampleSection("dnsbl")
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
	if d.Interval != 30*time.Minute || d.MinInterval != 5*time.Minute || d.Enabled {
		t.Errorf("defaults changed: %+v", d)
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	good := `
dnsbl:
  enabled: true
  resolver: {servers: ["127.0.0.1:5353"], query_timeout: 2s}
  addresses: [192.0.2.25, "2001:db8::25"]
  domains: [example.org]
  zones:
    - zone: zen.spamhaus.org
    - {zone: dbl.spamhaus.org, kind: domain}
  spamhaus_dqs_key: abcdefghijklmnopqrstuvwxyz
`
	c, err := decode(t, good)
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	if c.Zones[0].Kind != KindIP || c.Resolver.MaxConcurrent != dnsclient.DefaultMaxConcurrent || c.Resolver.QueryTimeout.D() != 2*time.Second {
		t.Errorf("defaults not applied: %+v", c)
	}
	out, _ := yaml.Marshal(c)
	if strings.Contains(string(out), "abcdefghijklmnopqrstuvwxyz") {
		t.Error("the DQS key is printed when the config is")
	}
	for _, bad := range []string{
		"dnsbl:\n  resolver: {server: [127.0.0.1]}\n",
		"dnsbl:\n  zones: [{zone: a.example, kind: ip, weight: 2}]\n",
		"dnsbl:\n  adresses: [192.0.2.1]\n",
		"dnsbl:\n  auto_addresses: maybe\n",
	} {
		if _, err := decode(t, bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
