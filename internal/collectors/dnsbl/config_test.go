// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsbl

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Interval: 30 * time.Minute, Timeout: 2 * time.Minute, MinInterval: 5 * time.Minute})
}

const goodYAML = `
enabled: true
resolver: {servers: ["127.0.0.1:5353"], query_timeout: 2s}
addresses: [192.0.2.25, "2001:db8::25"]
domains: [example.org]
zones:
  - zone: zen.spamhaus.org
  - {zone: dbl.spamhaus.org, kind: domain}
spamhaus_dqs_key: abcdefghijklmnopqrstuvwxyz
`

func TestValidate(t *testing.T) {
	t.Parallel()
	on := true
	var manyZones []Zone
	for i := range maxZones + 1 {
		manyZones = append(manyZones, Zone{Zone: fmt.Sprintf("z%d.example", i)})
	}
	var manyAddresses []string
	for i := range 60 {
		manyAddresses = append(manyAddresses, netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String())
	}
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults"},
		{Name: "enabled without targets", Config: Config{Settings: collectors.Settings{Enabled: &on}}, Want: []string{"nothing to check"}},
		{Name: "good", YAML: goodYAML},
		{Name: "problems", Config: Config{
			Settings:       collectors.Settings{Enabled: &on},
			Addresses:      []string{"192.0.2.1", "not-an-ip", "0.0.0.0", "::ffff:192.0.2.1", "fe80::1%eth0"},
			Domains:        []string{"example.org", "EXAMPLE.org.", "nodot", "bad_-.example"},
			Zones:          []Zone{{Zone: "zen.spamhaus.org"}, {Zone: "zen.spamhaus.org."}, {Zone: "bl", Kind: KindIP}, {Zone: "x.example", Kind: "uri"}},
			SpamhausDQSKey: "short",
		}, Want: []string{
			`addresses[1]: "not-an-ip" is not an IP address`,
			`addresses[2]: "0.0.0.0" is not a sending address`,
			`addresses[3]: "::ffff:192.0.2.1" is listed twice`,
			`addresses[4]: "fe80::1%eth0" is not an IP address`,
			`domains[1]: "EXAMPLE.org." is listed twice`,
			`domains[2]: "nodot" is not a fully qualified domain name`,
			`domains[3]: "bad_-.example" is not a fully qualified domain name`,
			`zones[1].zone: "zen.spamhaus.org." is listed twice`,
			`zones[2].zone: "bl" is not a fully qualified zone`,
			`zones[3].kind: must be "ip" or "domain", got "uri"`,
			`spamhaus_dqs_key: must be 16 to 64 letters and digits`,
		}},
		{Name: "zone cap", Config: Config{Zones: manyZones}, Want: []string{"zones: 33 zones, more than 32"}},
		{Name: "series budget", Config: Config{Addresses: manyAddresses, AutoAddresses: true}, Want: []string{
			"68 addresses × 4 ip zones + 0 domains × 2 domain zones = 272 queries per run, more than 250",
		}},
		{Name: "unknown resolver key", YAML: "resolver: {server: [127.0.0.1]}", DecodeError: "field server not found"},
		{Name: "unknown zone key", YAML: "zones: [{zone: a.example, kind: ip, weight: 2}]", DecodeError: "field weight not found"},
		{Name: "unknown key", YAML: "adresses: [192.0.2.1]", DecodeError: "field adresses not found"},
		{Name: "not a bool", YAML: "auto_addresses: maybe", DecodeError: "cannot unmarshal"},
	})
}

// TestDefaultsFillAndKeyHidden: decoding fills the zone kind and the
// resolver's defaults, and the DQS key shows neither when the config is
// printed nor in a validation error.
func TestDefaultsFillAndKeyHidden(t *testing.T) {
	t.Parallel()
	c, err := collectortest.Decode[Config](goodYAML)
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if c.Zones[0].Kind != KindIP || c.Resolver.MaxConcurrent != dnsclient.DefaultMaxConcurrent || c.Resolver.QueryTimeout.D() != 2*time.Second {
		t.Errorf("defaults not applied: %+v", c)
	}
	out, _ := yaml.Marshal(c)
	if strings.Contains(string(out), "abcdefghijklmnopqrstuvwxyz") {
		t.Error("the DQS key is printed when the config is")
	}
	c.SpamhausDQSKey = "short"
	for _, err := range c.Validate() {
		if strings.Contains(err.Error(), "short") {
			t.Errorf("the DQS key appears in an error message: %v", err)
		}
	}
}
