// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnstest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// keys are two RSA keys generated once per test binary: the local signing
// key and another one, for the "published key differs" case.
var keys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	a, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	b, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return a, b
})

func pubB64(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// txtRR splits a long record into 255-byte character-strings, as zone
// files and opendkim-genkey do.
func txtRR(s string) string {
	var parts []string
	for len(s) > 200 {
		parts = append(parts, `"`+s[:200]+`"`)
		s = s[200:]
	}
	return strings.Join(append(parts, `"`+s+`"`), " ")
}

// testZone: good.test passes every check; sub.good.test inherits DMARC and
// needs too many SPF lookups; bad.test fails every check in its own way;
// fail.test's names all answer SERVFAIL.
func testZone() string {
	local, other := keys()
	return fmt.Sprintf(`
$TTL 300
test.                       IN SOA ns.test. admin.test. 1 3600 600 86400 300
good.test.                  IN MX  10 mx.good.test.
good.test.                  IN MX  20 mx2.good.test.
good.test.                  IN TXT "v=spf1 mx include:_spf.provider.test -all"
good.test.                  IN TXT "google-site-verification=abc"
mx.good.test.               IN A   192.0.2.25
mx.good.test.               IN AAAA 2001:db8::25
_spf.provider.test.         IN TXT "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 ~all"
_dmarc.good.test.           IN TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@good.test; adkim=s"
mail._domainkey.good.test.  IN TXT %s
txt._domainkey.good.test.   IN TXT %s
25.2.0.192.in-addr.arpa.    IN PTR mx.good.test.
5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. IN PTR mx.good.test.

sub.good.test.              IN MX  10 mx.good.test.
sub.good.test.              IN TXT "v=spf1 include:a.spf.test include:b.spf.test -all"
a.spf.test.                 IN TXT "v=spf1 a mx ptr exists:%%{i}.x.test include:c.spf.test ?all"
b.spf.test.                 IN TXT "v=spf1 a:one.test a:two.test mx:three.test mx -all"
c.spf.test.                 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"

bad.test.                   IN A   192.0.2.80
bad.test.                   IN TXT "v=spf1 ip4:192.0.2.80 -all"
bad.test.                   IN TXT "v=spf1 a -all"
_dmarc.bad.test.            IN TXT "v=DMARC1; p=bogus"
mail._domainkey.bad.test.   IN TXT %s
26.2.0.192.in-addr.arpa.    IN PTR other.bad.test.
other.bad.test.             IN A   192.0.2.99

nullmx.test.                IN MX  0 .
nullmx.test.                IN TXT "v=spf1 +all"
`, txtRR("v=DKIM1; k=rsa; p="+pubB64(local)), txtRR("v=DKIM1; p="+pubB64(other)), txtRR("v=DKIM1; k=rsa; p="+pubB64(other)))
}

// writeKeys writes the local key as OpenDKIM does: mail.private (PKCS#1
// PEM) and mail.txt (the record in zone-file syntax).
func writeKeys(t *testing.T) (private, txt string) {
	t.Helper()
	local, _ := keys()
	dir := t.TempDir()
	private = filepath.Join(dir, "mail.private")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(local)})
	if err := os.WriteFile(private, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	txt = filepath.Join(dir, "mail.txt")
	rec := "mail._domainkey\tIN\tTXT\t( \"v=DKIM1; h=sha256; k=rsa; \"\n\t  " + txtRR("p="+pubB64(local)) + " )  ; ----- DKIM key mail for good.test\n"
	if err := os.WriteFile(txt, []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	return private, txt
}

func resolverConfig(srv *dnstest.Server) dnsclient.Config {
	return dnsclient.Config{Servers: []string{srv.Addr}, QueryTimeout: confval.Duration(300 * time.Millisecond), MaxConcurrent: 4}
}

func newCollector(t *testing.T, cfg Config, logger *zap.Logger) *Collector {
	t.Helper()
	if logger == nil {
		logger = zap.NewNop()
	}
	c, err := New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func goodDomain(private, txt string) Domain {
	return Domain{
		Domain:     "good.test",
		DKIM:       []Selector{{Selector: "mail", KeyFile: private}, {Selector: "txt"}},
		SendingIPs: []string{"192.0.2.25", "2001:db8::25"},
	}
}

func TestUpdateSuccessCached(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, testZone())
	private, txt := writeKeys(t)
	c := newCollector(t, Config{Resolver: resolverConfig(srv), Domains: []Domain{goodDomain(private, txt)}}, nil)
	if err := golden(t, c, "success"); err != nil {
		t.Fatal(err)
	}
	sent := srv.Total()
	if err := golden(t, c, "success"); err != nil {
		t.Fatal(err)
	}
	if n := srv.Total(); n != sent {
		t.Errorf("second run within the TTLs sent %d queries, want 0", n-sent)
	}
	collectortest.Lint(t, c)
}

func TestUpdatePartial(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, testZone())
	for _, n := range []string{"fail.test", "_dmarc.fail.test"} {
		srv.Set(n, dnstest.ServFail)
	}
	private, txt := writeKeys(t)
	good := goodDomain(private, txt)
	good.DKIM[1].KeyFile = txt // txt._domainkey publishes the other key
	cfg := Config{Resolver: resolverConfig(srv), Domains: []Domain{
		good,
		{Domain: "sub.good.test"},
		{Domain: "Bad.Test.", DKIM: []Selector{{Selector: "mail", KeyFile: private}, {Selector: "gone"}}, SendingIPs: []string{"192.0.2.26", "192.0.2.27"}},
		{Domain: "nullmx.test"},
		{Domain: "fail.test"},
	}}
	core, logs := observer.New(zapcore.InfoLevel)
	c := newCollector(t, cfg, zap.New(core))
	if err := golden(t, c, "partial"); err != nil {
		t.Errorf("failing checks are data, not a failed run: %v", err)
	}
	collectortest.Lint(t, c)

	whys := map[string]string{}
	for _, e := range logs.FilterMessage("mail dns check fails").All() {
		f := e.ContextMap()
		whys[f["domain"].(string)+"/"+f["check"].(string)] = f["why"].(string)
	}
	for key, want := range map[string]string{
		"good.test/dkim":      "txt._domainkey.good.test: the published key is not the local signing key",
		"sub.good.test/spf":   "SPF needs more than 10 DNS lookups",
		"bad.test/mx":         "no MX record",
		"bad.test/spf":        "bad.test has 2 SPF records",
		"bad.test/dmarc":      "p=bogus: must be none, quarantine or reject",
		"bad.test/dkim":       "mail._domainkey.bad.test: the published key is not the local signing key; gone._domainkey.bad.test: no DKIM key record",
		"bad.test/ptr":        "no PTR record for 192.0.2.27",
		"bad.test/fcrdns":     "192.0.2.26 (other.bad.test. do not resolve to it); 192.0.2.27 (no PTR)",
		"nullmx.test/mx":      "null MX",
		"nullmx.test/spf":     "+all",
		"nullmx.test/dmarc":   "no DMARC record at _dmarc.nullmx.test",
		"sub.good.test/dmarc": "",
		"good.test/spf":       "",
		"fail.test/mx":        "",
	} {
		got, logged := whys[key]
		if want == "" {
			if logged {
				t.Errorf("%s logged as failing: %s", key, got)
			}
			continue
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: logged why %q, want it to contain %q", key, got, want)
		}
	}
	if n := logs.FilterMessage("mail dns check could not query").Len(); n != 3 {
		t.Errorf("fail.test: %d 'could not query' logs, want 3 (mx, spf, dmarc)", n)
	}
	// The same failures again: nothing new is logged.
	before := logs.Len()
	if err := c.Update(context.Background(), make(chan prometheus.Metric, 200)); err != nil {
		t.Fatal(err)
	}
	if n := logs.Len(); n != before {
		t.Errorf("second run logged %d more lines, want 0: %v", n-before, logs.All()[before:])
	}
}

func TestUpdateTotalFailure(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, testZone())
	srv.Set("good.test", dnstest.ServFail)
	srv.Set("_dmarc.good.test", dnstest.Hang)
	srv.Set("25.2.0.192.in-addr.arpa", dnstest.Refused)
	c := newCollector(t, Config{Resolver: resolverConfig(srv), Domains: []Domain{{Domain: "good.test", SendingIPs: []string{"192.0.2.25"}}}}, nil)
	err := golden(t, c, "total_failure")
	if err == nil || !strings.Contains(err.Error(), "no DNS answer for any of 5 checks") {
		t.Errorf("total failure: err = %v", err)
	}
}

// TestKeyTable: with OpenDKIM's KeyTable and no selector configured, the
// table's selectors for the domain are checked against its keys.
func TestKeyTable(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, testZone())
	private, _ := writeKeys(t)
	dir := t.TempDir()
	table := filepath.Join(dir, "key.table")
	data := "# comment\nmail._domainkey.good.test  good.test:mail:" + private + "\n" +
		"mail._domainkey.bad.test bad.test:mail:" + private + "\n\nbroken line\n"
	if err := os.WriteFile(table, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Resolver: resolverConfig(srv), OpenDKIMKeyTable: table, Domains: []Domain{{Domain: "good.test"}, {Domain: "bad.test"}, {Domain: "nullmx.test"}}}
	c := newCollector(t, cfg, nil)
	const want = `
# HELP mailwatch_dns_check_success 1 if the mail DNS check of the domain passes (check: mx, spf, dmarc, dkim, ptr, fcrdns), 0 if it fails or could not be made. Refreshed every collectors.mail_dns.interval.
# TYPE mailwatch_dns_check_success gauge
mailwatch_dns_check_success{check="dkim",domain="bad.test"} 0
mailwatch_dns_check_success{check="dkim",domain="good.test"} 1
mailwatch_dns_check_success{check="dkim",domain="nullmx.test"} 0
mailwatch_dns_check_success{check="dmarc",domain="bad.test"} 0
mailwatch_dns_check_success{check="dmarc",domain="good.test"} 1
mailwatch_dns_check_success{check="dmarc",domain="nullmx.test"} 0
mailwatch_dns_check_success{check="mx",domain="bad.test"} 0
mailwatch_dns_check_success{check="mx",domain="good.test"} 1
mailwatch_dns_check_success{check="mx",domain="nullmx.test"} 0
mailwatch_dns_check_success{check="spf",domain="bad.test"} 0
mailwatch_dns_check_success{check="spf",domain="good.test"} 1
mailwatch_dns_check_success{check="spf",domain="nullmx.test"} 0
`
	collectortest.Compare(t, c, want, "mailwatch_dns_check_success")

	if err := os.Remove(table); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	gone := NewWithResolver(cfg, c.check.res, zap.New(core))
	if err := gone.Update(context.Background(), make(chan prometheus.Metric, 200)); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range logs.All() {
		if e.ContextMap()["check"] == "dkim" && strings.Contains(fmt.Sprint(e.ContextMap()["why"]), "read key table") {
			found = true
		}
	}
	if !found {
		t.Errorf("unreadable key table not logged: %v", logs.All())
	}
}

type blockingResolver struct{ release chan struct{} }

func (b blockingResolver) Query(context.Context, string, uint16) (*dnsclient.Response, error) {
	<-b.release
	return dnsclient.NewResponse(dns.RcodeNameError), nil
}

// TestUpdateReturnsOnCtxDone: a resolver that ignores ctx and never returns
// does not hold the run once ctx is done; everything is reported unanswered.
func TestUpdateReturnsOnCtxDone(t *testing.T) {
	t.Parallel()
	res := blockingResolver{release: make(chan struct{})}
	defer close(res.release)
	c := NewWithResolver(Config{Domains: []Domain{{Domain: "good.test"}}}, res, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan prometheus.Metric, 100)
	done := make(chan error, 1)
	go func() { done <- c.Update(ctx, ch) }()
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no DNS answer for any of 3 checks") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Update did not return after ctx was cancelled")
	}
}

func TestDefaultsSendNothing(t *testing.T) {
	t.Parallel()
	var cfg Config
	cfg.ApplyDefaults()
	if cfg.Defaults().Enabled {
		t.Error("mail_dns is enabled by default")
	}
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Errorf("default config invalid: %v", errs)
	}
	on := true
	cfg.Enabled = &on
	if errs := cfg.Validate(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "enabled but no domain") {
		t.Errorf("enabled without domains: %v", errs)
	}
	c := NewWithResolver(cfg, blockingResolver{}, zap.NewNop())
	if err := c.Update(context.Background(), make(chan prometheus.Metric, 10)); !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("no domains: %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	c := Config{
		OpenDKIMKeyTable: "etc/key.table",
		Domains: []Domain{
			{Domain: "example.org", DKIM: []Selector{{Selector: "mail"}, {Selector: "MAIL"}, {Selector: "bad sel"}, {Selector: "s1.2024", KeyFile: "rel.private"}}, SendingIPs: []string{"192.0.2.1", "::ffff:192.0.2.1", "nope"}},
			{Domain: "EXAMPLE.ORG."},
			{Domain: "localhost"},
		},
	}
	c.ApplyDefaults()
	var msgs []string
	for _, e := range c.Validate() {
		msgs = append(msgs, e.Error())
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{
		`opendkim_key_table: must be an absolute path, got "etc/key.table"`,
		`domains[0].dkim[1].selector: "MAIL" is listed twice`,
		`domains[0].dkim[2].selector: "bad sel" is not a DKIM selector`,
		`domains[0].dkim[3].key_file: must be an absolute path`,
		`domains[0].sending_ips[1]: "::ffff:192.0.2.1" is listed twice`,
		`domains[0].sending_ips[2]: "nope" is not an IP address`,
		`domains[1].domain: "EXAMPLE.ORG." is listed twice`,
		`domains[2].domain: "localhost" is not a fully qualified domain name`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if len(msgs) != 8 {
		t.Errorf("got %d problems, want 8:\n%s", len(msgs), got)
	}
}
