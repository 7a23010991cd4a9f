// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

type file struct {
	Certs Config `yaml:"certs"`
}

func decode(t *testing.T, data string) (Config, error) {
	t.Helper()
	var f file
	dec := yaml.NewDecoder(bytes.NewReader([]byte(data)))
	dec.KnownFields(true)
	err := dec.Decode(&f)
	return f.Certs, err
}

// TestExampleIsTheDefaults: the block handed to config.example.yaml decodes
// strictly and says exactly what the defaults are.
func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	data, err := collectortest.ExampleSection("certs")
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
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("example differs from the defaults (-defaults +example):\n%s", diff)
	}
	if d != (collectors.Defaults{Enabled: true, Interval: 10 * time.Minute, Timeout: 30 * time.Second, MinInterval: time.Minute}) {
		t.Errorf("defaults changed: %+v", d)
	}
	if len(got.Endpoints) != 0 {
		t.Error("the example must not probe anything by default")
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	c, err := decode(t, `
certs:
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
	for _, bad := range []string{
		"certs:\n  endpoints:\n    - target: smtp://127.0.0.1:25\n      port: 25\n",
		"certs:\n  discover:\n    exim: true\n",
		"certs:\n  file: /x.pem\n",
	} {
		if _, err := decode(t, bad); err == nil {
			t.Errorf("unknown key accepted:\n%s", bad)
		}
	}
	empty, err := decode(t, "certs:\n  files: []\n")
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
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"relative file", func(c *Config) { c.Files = []string{"fullchain.pem"} }, `files[0]: must be an absolute path`},
		{"unclean file", func(c *Config) { c.Files = []string{"/etc//x.pem"} }, `files[0]: "/etc//x.pem" is not clean`},
		{"bad glob", func(c *Config) { c.Files = []string{"/etc/[x.pem"} }, `files[0]: "/etc/[x.pem" is not a valid glob`},
		{"file twice", func(c *Config) { c.Files = []string{"/a.pem", "/a.pem"} }, `files[1]: "/a.pem" is listed twice`},
		{"max_files", func(c *Config) { c.MaxFiles = 1000 }, `max_files: must be between 1 and 256`},
		{"postconf", func(c *Config) { c.Discover.Postconf = "postconf" }, `discover.postconf: must be an absolute path`},
		{"dovecot_config", func(c *Config) { c.Discover.DovecotConfig = "dovecot.conf" }, `discover.dovecot_config: must be an absolute path`},
		{"ca_file", func(c *Config) { c.CAFile = "ca.pem" }, `ca_file: must be an absolute path`},
		{"ehlo", func(c *Config) { c.EHLOName = "bad name" }, `ehlo_name: "bad name" is not a host name`},
		{"endpoint timeout", func(c *Config) { c.EndpointTimeout = confval.Duration(time.Minute) }, `endpoint_timeout: 1m0s is longer than timeout (30s)`},
		{"no scheme", func(c *Config) { c.Endpoints = []Endpoint{{Target: "127.0.0.1:25"}} }, `endpoints[0].target: "127.0.0.1:25" is not PROTO://HOST:PORT`},
		{"unknown scheme", func(c *Config) { c.Endpoints = []Endpoint{{Target: "https://127.0.0.1:443"}} }, `unknown protocol "https"`},
		{"no port", func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1"}} }, `the port is required`},
		{"bad port", func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:99999"}} }, `port "99999" is not a number`},
		{"leading zero", func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:025"}} }, `port "025" is not a number`},
		{"path", func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:25/"}} }, `port "25/" is not a number`},
		{"bad host", func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://ex ample:25"}} }, `is neither an IP address nor a host name`},
		{"endpoint twice", func(c *Config) {
			c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:25"}, {Target: "smtp://127.0.0.1:25"}}
		}, `endpoints[1].target: "smtp://127.0.0.1:25" is listed twice`},
		{"server_name ip", func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:25", ServerName: "127.0.0.1"}} }, `server_name: "127.0.0.1" is not a DNS name`},
		{"expect_file", func(c *Config) { c.Endpoints = []Endpoint{{Target: "smtp://127.0.0.1:25", ExpectFile: "x.pem"}} }, `endpoints[0].expect_file: must be an absolute path`},
		{"too many endpoints", func(c *Config) {
			for i := range maxEndpoints + 1 {
				c.Endpoints = append(c.Endpoints, Endpoint{Target: "smtp://127.0.0.1:" + strconv.Itoa(1000+i)})
			}
		}, `endpoints: 65 endpoints, more than 64`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := Config{Settings: collectors.Settings{Timeout: confval.Duration(30 * time.Second)}}
			c.ApplyDefaults()
			tc.mod(&c)
			var msgs []string
			for _, e := range c.Validate() {
				msgs = append(msgs, e.Error())
			}
			if len(msgs) != 1 || !strings.Contains(msgs[0], tc.want) {
				t.Errorf("got %q, want one problem containing %q", msgs, tc.want)
			}
		})
	}
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
