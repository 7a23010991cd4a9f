// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"strconv"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	c := collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: 10 * time.Minute, Timeout: 30 * time.Second, MinInterval: time.Minute})
	if len(c.Endpoints) != 0 {
		t.Error("the example must not probe anything by default")
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	c, err := collectortest.Decode[Config](`
files: [/etc/ssl/mail.pem, "/etc/letsencrypt/live/*/fullchain.pem"]
discover: {postfix: false}
ca_file: /etc/mailstack/tls/mail.crt
endpoints:
  - target: smtp://127.0.0.1:25
    expect_file: /etc/ssl/mail.pem
  - {target: "imaps://[::1]:993", server_name: mail.example.org}
`)
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	if *c.Discover.Postfix || !*c.Discover.Dovecot || c.MaxFiles != defaultMaxFiles || c.EndpointTimeout.D() != defaultEndpointTimeout {
		t.Errorf("defaults not applied: %+v", c)
	}
	empty, err := collectortest.Decode[Config]("files: []")
	if err != nil {
		t.Fatal(err)
	}
	empty.ApplyDefaults()
	if len(empty.Files) != 0 {
		t.Errorf("files: [] must mean no files, got %v", empty.Files)
	}
}

func TestEndpointTimeoutFollowsShortTimeout(t *testing.T) {
	t.Parallel()
	c := Config{Settings: collectors.Settings{Timeout: confval.Duration(6 * time.Second)}}
	c.ApplyDefaults()
	if c.EndpointTimeout.D() != 4*time.Second {
		t.Errorf("endpoint_timeout %s, want 2/3 of a 6s timeout", c.EndpointTimeout)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []collectortest.Case[Config]{
		{Name: "defaults"},
		{Name: "relative file", Modify: func(c *Config) { c.Files = []string{"fullchain.pem"} }, Want: []string{`files[0]: must be an absolute path`}},
		{Name: "unclean file", Modify: func(c *Config) { c.Files = []string{"/etc//x.pem"} }, Want: []string{`files[0]: "/etc//x.pem" is not clean`}},
		{Name: "bad glob", Modify: func(c *Config) { c.Files = []string{"/etc/[x.pem"} }, Want: []string{`files[0]: "/etc/[x.pem" is not a valid glob`}},
		{Name: "file twice", Modify: func(c *Config) { c.Files = []string{"/a.pem", "/a.pem"} }, Want: []string{`files[1]: "/a.pem" is listed twice`}},
		{Name: "max_files", Modify: func(c *Config) { c.MaxFiles = 1000 }, Want: []string{`max_files: must be between 1 and 256`}},
		{Name: "postconf", Modify: func(c *Config) { c.Discover.Postconf = "postconf" }, Want: []string{`discover.postconf: must be an absolute path`}},
		{Name: "dovecot_config", Modify: func(c *Config) { c.Discover.DovecotConfig = "dovecot.conf" }, Want: []string{`discover.dovecot_config: must be an absolute path`}},
		{Name: "ca_file", Modify: func(c *Config) { c.CAFile = "ca.pem" }, Want: []string{`ca_file: must be an absolute path`}},
		{Name: "ehlo", Modify: func(c *Config) { c.EHLOName = "bad name" }, Want: []string{`ehlo_name: "bad name" is not a host name`}},
		{Name: "endpoint timeout", Modify: func(c *Config) { c.EndpointTimeout = confval.Duration(time.Minute) }, Want: []string{`endpoint_timeout: 1m0s is longer than timeout (30s)`}},
		{Name: "no scheme", Modify: func(c *Config) { c.Endpoints = []Endpoint{{Target: "127.0.0.1:25"}} }, Want: []string{`endpoints[0].target: "127.0.0.1:25" is not PROTO://HOST:PORT`}},
		{Name: "unknown scheme", Modify: func(c *Config) { c.Endpoints = []Endpoint{{Target: "https://127.0.0.1:443"}} }, Want: []string{`unknown protocol "https"`}},
		{Name: "no port", Modify: func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1"}} }, Want: []string{`the port is required`}},
		{Name: "bad port", Modify: func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:99999"}} }, Want: []string{`port "99999" is not a number`}},
		{Name: "leading zero", Modify: func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:025"}} }, Want: []string{`port "025" is not a number`}},
		{Name: "path", Modify: func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:25/"}} }, Want: []string{`port "25/" is not a number`}},
		{Name: "bad host", Modify: func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://ex ample:25"}} }, Want: []string{`is neither an IP address nor a host name`}},
		{Name: "endpoint twice", Modify: func(c *Config) {
			c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:25"}, {Target: "smtp://127.0.0.1:25"}}
		}, Want: []string{`endpoints[1].target: "smtp://127.0.0.1:25" is listed twice`}},
		{Name: "server_name ip", Modify: func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:25", ServerName: "127.0.0.1"}} }, Want: []string{`server_name: "127.0.0.1" is not a DNS name`}},
		{Name: "expect_file", Modify: func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:25", ExpectFile: "x.pem"}} }, Want: []string{`endpoints[0].expect_file: must be an absolute path`}},
		{Name: "too many endpoints", Modify: func(c *Config) {
			for i := range maxEndpoints + 1 {
				c.Endpoints = append(c.Endpoints, Endpoint{Target: "smtp://127.0.0.1:" + strconv.Itoa(1000+i)})
			}
		}, Want: []string{`endpoints: 65 endpoints, more than 64`}},
		{Name: "unknown key in an endpoint", YAML: "endpoints:\n  - target: smtp://127.0.0.1:25\n    port: 25\n", DecodeError: "field port not found"},
		{Name: "unknown discover key", YAML: "discover:\n  exim: true\n", DecodeError: "field exim not found"},
		{Name: "unknown key", YAML: "file: /x.pem", DecodeError: "field file not found"},
	}
	for i := range cases {
		cases[i].Config.Timeout = confval.Duration(30 * time.Second)
	}
	collectortest.Validation(t, cases)
}

func TestParseTargetCanonical(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"smtp://[::1]:25", "sieve://mail.example.org:4190", "pop3s://192.0.2.1:995"} {
		if _, err := parseTarget(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := parseTarget("SMTP://127.0.0.1:25"); err == nil {
		t.Error("upper-case scheme accepted: two spellings of one label")
	}
}
