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
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

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

func goodDomain(private, txt string) Domain {
	return Domain{
		Domain:     "good.test",
		DKIM:       []Selector{{Selector: "mail", KeyFile: private}, {Selector: "txt"}},
		SendingIPs: []string{"192.0.2.25", "2001:db8::25"},
	}
}

type blockingResolver struct{ release chan struct{} }

func (b blockingResolver) Query(context.Context, string, uint16) (*dnsclient.Response, error) {
	<-b.release
	return dnsclient.NewResponse(dns.RcodeNameError), nil
}
