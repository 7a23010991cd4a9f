// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Interval: 15 * time.Minute, Timeout: time.Minute, MinInterval: time.Minute})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	on := true
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults"},
		{Name: "enabled without domains", Config: Config{Settings: collectors.Settings{Enabled: &on}}, Want: []string{"enabled but no domain and no dane host"}},
		{Name: "dane only", YAML: `
enabled: true
dane:
  - mx: mx.example.org
    address: 127.0.0.1:25
    cert_file: /etc/letsencrypt/live/mx.example.org/fullchain.pem
  - mx: mx2.example.org
  - mx: "[::1]"
`, Want: []string{`dane[2].mx: "[::1]" is not a fully qualified host name`}},
		{Name: "bad dane", Config: Config{DANE: []DANETarget{
			{MX: "mx.example.org", Address: "mx.example.org:25"},
			{MX: "MX.example.org.", Address: "127.0.0.1", CertFile: "fullchain.pem"},
			{MX: "mx3.example.org", Address: "[::1]:0"},
		}}, Want: []string{
			`dane[0].address: "mx.example.org:25" is not IP:port`,
			`dane[1].mx: "MX.example.org." is listed twice`,
			`dane[1].address: "127.0.0.1" is not IP:port`,
			`dane[1].cert_file: must be an absolute path`,
			`dane[2].address: "[::1]:0" is not IP:port`,
		}},
		{Name: "unknown dane key", YAML: "dane: [{mx: mx.example.org, port: 25}]", DecodeError: "field port not found"},
		{Name: "good", YAML: `
enabled: true
resolver: {servers: ["127.0.0.1:5353"]}
opendkim_key_table: /etc/opendkim/key.table
domains:
  - domain: example.org
    dkim:
      - selector: mail
        key_file: /etc/opendkim/keys/example.org/mail.private
    sending_ips: [192.0.2.25, "2001:db8::25"]
    mta_sts: true
  - domain: example.net
mta_sts_ca_file: /etc/ssl/private-ca.pem
`},
		{Name: "relative mta_sts_ca_file", YAML: "mta_sts_ca_file: ca.pem", Want: []string{`mta_sts_ca_file: must be an absolute path, got "ca.pem"`}},
		{Name: "bad domains", Config: Config{
			OpenDKIMKeyTable: "etc/key.table",
			Domains: []Domain{
				{Domain: "example.org", DKIM: []Selector{{Selector: "mail"}, {Selector: "MAIL"}, {Selector: "bad sel"}, {Selector: "s1.2024", KeyFile: "rel.private"}}, SendingIPs: []string{"192.0.2.1", "::ffff:192.0.2.1", "nope"}},
				{Domain: "EXAMPLE.ORG."},
				{Domain: "localhost"},
			},
		}, Want: []string{
			`opendkim_key_table: must be an absolute path, got "etc/key.table"`,
			`domains[0].dkim[1].selector: "MAIL" is listed twice`,
			`domains[0].dkim[2].selector: "bad sel" is not a DKIM selector`,
			`domains[0].dkim[3].key_file: must be an absolute path`,
			`domains[0].sending_ips[1]: "::ffff:192.0.2.1" is listed twice`,
			`domains[0].sending_ips[2]: "nope" is not an IP address`,
			`domains[1].domain: "EXAMPLE.ORG." is listed twice`,
			`domains[2].domain: "localhost" is not a fully qualified domain name`,
		}},
		{Name: "unknown resolver key", YAML: "resolver: {servers: [], timeout: 1s}", DecodeError: "field timeout not found"},
		{Name: "unknown domain key", YAML: "domains: [{domain: example.org, spf: true}]", DecodeError: "field spf not found"},
		{Name: "unknown selector key", YAML: "domains: [{domain: example.org, dkim: [{selector: a, key: /x}]}]", DecodeError: "field key not found"},
		{Name: "domain as a string", YAML: "domains: [example.org]", DecodeError: "cannot unmarshal"},
	})
}
