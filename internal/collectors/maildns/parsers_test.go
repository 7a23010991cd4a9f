// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSPF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    *SPFRecord
		wantErr string
	}{
		{"minimal", "v=spf1", &SPFRecord{}, ""},
		{"upper case version", "V=SPF1 -ALL", &SPFRecord{}, ""},
		{"typical", "v=spf1 mx a ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.Example.com. ~all",
			&SPFRecord{Lookups: 3, Includes: []string{"_spf.example.com"}}, ""},
		{"extra spaces", "v=spf1   mx    -all  ", &SPFRecord{Lookups: 1}, ""},
		{"a and mx with domain and cidr", "v=spf1 a:mail.example.org/24 mx:example.org//64 a/24//64 mx//48 a:x.example -all", &SPFRecord{Lookups: 5}, ""},
		{"redirect", "v=spf1 redirect=_spf.example.net", &SPFRecord{Lookups: 1, Redirect: "_spf.example.net"}, ""},
		{"redirect ignored after all", "v=spf1 -all redirect=_spf.example.net", &SPFRecord{Lookups: 1}, ""},
		{"macro include not followed", "v=spf1 include:%{ir}.%{v}._spf.%{d2} exists:%{i}.bl.example -all", &SPFRecord{Lookups: 2}, ""},
		{"unknown modifier ok", "v=spf1 foo=bar mx -all", &SPFRecord{Lookups: 1}, ""},
		{"exp", "v=spf1 -all exp=explain.%{d}", &SPFRecord{}, ""},
		{"ptr", "v=spf1 ptr ptr:example.org -all", &SPFRecord{Lookups: 2}, ""},
		{"pass all", "v=spf1 +all", &SPFRecord{PassAll: true}, ""},
		{"bare all", "v=spf1 mx all", &SPFRecord{Lookups: 1, PassAll: true}, ""},
		{"soft all is fine", "v=spf1 ?all", &SPFRecord{}, ""},

		{"not spf", "v=spf10 -all", nil, "v=spf1"},
		{"version only prefix", "spf1 -all", nil, "v=spf1"},
		{"unknown mechanism", "v=spf1 ipv4:192.0.2.1", nil, `unknown mechanism "ipv4:192.0.2.1"`},
		{"ip4 without address", "v=spf1 ip4 -all", nil, "ip4 needs an address"},
		{"bad ip4", "v=spf1 ip4:192.0.2.300", nil, "not an address"},
		{"ip6 in ip4", "v=spf1 ip4:2001:db8::1", nil, "not an IPv4 address"},
		{"ip4 in ip6", "v=spf1 ip6:192.0.2.1", nil, "not an IPv6 address"},
		{"cidr too long", "v=spf1 ip4:192.0.2.0/33", nil, "CIDR length"},
		{"cidr leading zero", "v=spf1 ip4:192.0.2.0/024", nil, "CIDR length"},
		{"empty cidr", "v=spf1 a/", nil, "empty CIDR"},
		{"include without domain", "v=spf1 include -all", nil, "include needs a domain"},
		{"include empty", "v=spf1 include: -all", nil, "empty domain"},
		{"include not a name", "v=spf1 include:nodot -all", nil, "not a domain name"},
		{"two redirects", "v=spf1 redirect=a.example redirect=b.example", nil, "redirect= appears twice"},
		{"bad macro", "v=spf1 exists:%{z}.example", nil, "bad macro letter"},
		{"unterminated macro", "v=spf1 exists:%{i.example", nil, "unterminated macro"},
		{"lone percent", "v=spf1 exists:100%.example", nil, "bad macro"},
		{"all with argument", "v=spf1 all:x", nil, "all takes no argument"},
		{"qualifier only", "v=spf1 -", nil, "unknown mechanism"},
		{"ptr cidr", "v=spf1 ptr/24", nil, "ptr takes no CIDR"},
		{"non-ascii", "v=spf1 include:exämple.org", nil, "not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSPF(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseSPF(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSPF(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseSPF(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseDMARC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    *DMARCRecord
		wantErr string
	}{
		{"minimal", "v=DMARC1; p=none", &DMARCRecord{Policy: "none", Pct: 100}, ""},
		{"full", "v=DMARC1; p=Reject; sp=quarantine; np=reject; pct=50; adkim=s; aspf=r; rua=mailto:a@example.org,mailto:b@example.net!10m; ruf=mailto:f@example.org; fo=0:1:d:s; ri=86400; rf=afrf;",
			&DMARCRecord{Policy: "reject", SubdomainPolicy: "quarantine", Pct: 50}, ""},
		{"spaces", " v = DMARC1 ;p = quarantine ; ", &DMARCRecord{Policy: "quarantine", Pct: 100}, ""},
		{"unknown tag ignored", "v=DMARC1; p=none; t=y; psd=n", &DMARCRecord{Policy: "none", Pct: 100}, ""},
		{"p not second", "v=DMARC1; rua=mailto:a@example.org; p=reject", &DMARCRecord{Policy: "reject", Pct: 100}, ""},

		{"not dmarc", "v=spf1 -all", nil, "v=DMARC1"},
		{"version case", "v=dmarc1; p=none", nil, "v=DMARC1"},
		{"version not first", "p=none; v=DMARC1", nil, "v=DMARC1"},
		{"no policy", "v=DMARC1; rua=mailto:a@example.org", nil, "no p= policy"},
		{"bad policy", "v=DMARC1; p=block", nil, "must be none, quarantine or reject"},
		{"bad sp", "v=DMARC1; p=none; sp=yes", nil, "sp=yes"},
		{"pct range", "v=DMARC1; p=none; pct=101", nil, "0..100"},
		{"adkim", "v=DMARC1; p=none; adkim=x", nil, "r or s"},
		{"duplicate", "v=DMARC1; p=none; p=reject", nil, "appears twice"},
		{"no equals", "v=DMARC1; p=none; junk", nil, "not tag=value"},
		{"bad rua", "v=DMARC1; p=none; rua=dmarc@example.org", nil, "not a URI"},
		{"bad mailto", "v=DMARC1; p=none; rua=mailto:nobody", nil, "not a mailto: address"},
		{"bad size", "v=DMARC1; p=none; rua=mailto:a@example.org!big", nil, "size limit"},
		{"bad fo", "v=DMARC1; p=none; fo=2", nil, "0, 1, d or s"},
		{"bad ri", "v=DMARC1; p=none; ri=0", nil, "positive"},
		{"bad tag name", "v=DMARC1; p=none; 1x=y", nil, "not a tag name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDMARC(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseDMARC(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDMARC(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDKIMKey(t *testing.T) {
	t.Parallel()
	local, _ := keys()
	rsaB64 := pubB64(local)
	pkcs1 := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&local.PublicKey))
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edB64 := base64.StdEncoding.EncodeToString(edPub)
	tests := []struct {
		name, in, wantType, wantErr string
	}{
		{"rsa", "v=DKIM1; k=rsa; p=" + rsaB64, "rsa", ""},
		{"no v no k", "p=" + rsaB64, "rsa", ""},
		{"folded base64", "v=DKIM1; h=sha256; p=" + rsaB64[:40] + " \t " + rsaB64[40:] + " ;", "rsa", ""},
		{"pkcs1", "v=DKIM1; p=" + pkcs1, "rsa", ""},
		{"ed25519", "v=DKIM1; k=ed25519; p=" + edB64, "ed25519", ""},
		{"revoked", "v=DKIM1; p=", "", "revoked"},
		{"no p", "v=DKIM1; k=rsa", "", "no p="},
		{"v not first", "k=rsa; v=DKIM1; p=" + rsaB64, "", "first tag"},
		{"wrong v", "v=DKIM2; p=" + rsaB64, "", "DKIM1"},
		{"bad base64", "v=DKIM1; p=!!!", "", "not base64"},
		{"not a key", "v=DKIM1; p=" + base64.StdEncoding.EncodeToString([]byte("hello world")), "", "not an RSA public key"},
		{"ed25519 wrong size", "v=DKIM1; k=ed25519; p=" + rsaB64, "", "ed25519 key is"},
		{"unknown k", "v=DKIM1; k=dsa; p=" + rsaB64, "", "unknown key type"},
		{"duplicate tag", "v=DKIM1; p=" + rsaB64 + "; p=" + rsaB64, "", "twice"},
		{"small rsa", "v=DKIM1; p=" + smallRSA(t), "", "fewer than 1024"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseDKIMKey(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Type != tc.wantType {
				t.Errorf("type %q, want %q", k.Type, tc.wantType)
			}
		})
	}
}

// smallRSA is a 512-bit RSA public key. Go refuses to generate one, but
// the modulus needs no primes to be encoded.
func smallRSA(t *testing.T) string {
	t.Helper()
	n := new(big.Int).Lsh(big.NewInt(1), 511)
	n.Add(n, big.NewInt(12345))
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func TestLocalKeys(t *testing.T) {
	t.Parallel()
	local, other := keys()
	private, txt := writeKeys(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(local)
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(&local.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"pkcs1 pem":   private,
		"record file": txt,
		"pkcs8 pem":   write("k8.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		"public pem":  write("pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})),
		"bare base64": write("inline", []byte(base64.StdEncoding.EncodeToString(pkcs8)+"\n")),
	}
	for name, path := range files {
		k, err := LoadLocalKey(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !samePublicKey(&local.PublicKey, k) || samePublicKey(&other.PublicKey, k) {
			t.Errorf("%s: wrong key", name)
		}
	}
	for name, data := range map[string]string{
		"garbage":      "not a key at all !",
		"wrong pem":    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})),
		"broken pem":   string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1, 2}})),
		"record no p":  `sel._domainkey IN TXT ( "v=DKIM1; k=rsa" )`,
		"empty record": `"" ; nothing`,
	} {
		if _, err := LoadLocalKey(write(strings.ReplaceAll(name, " ", "_"), []byte(data))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := LoadLocalKey(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "read local key") {
		t.Errorf("missing file: %v", err)
	}
}

func TestQuotedStrings(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`sel IN TXT ( "v=DKIM1; " "p=AB" ) ; comment "not this"`: "v=DKIM1; p=AB",
		`"a\"b" "c\\d"`:        `a"bc\d`,
		"; \"skip\"\n\"keep\"": "keep",
		`no quotes`:            "",
	} {
		if got := quotedStrings(in); got != want {
			t.Errorf("quotedStrings(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadKeyTable(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "KeyTable")
	data := "# OpenDKIM key table\n" +
		"mail._domainkey.example.org example.org:mail:/etc/opendkim/keys/example.org/mail.private\n" +
		"  s2._domainkey.Example.NET\tExample.NET:s2:/k/s2.private   # trailing comment\n" +
		"inline example.com:x:MIIEvQ==\n" +
		"short-line\n" +
		"bad example.org:noselector\n"
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readKeyTable(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []keyTableEntry{
		{domain: "example.org", selector: "mail", key: "/etc/opendkim/keys/example.org/mail.private"},
		{domain: "example.net", selector: "s2", key: "/k/s2.private"},
		{domain: "example.com", selector: "x", key: "MIIEvQ=="},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(keyTableEntry{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The parsers read DNS answers from anywhere: they must not panic, and what
// they accept must be self-consistent.

func FuzzParseSPF(f *testing.F) {
	for _, s := range []string{
		"v=spf1 -all", "v=spf1 mx a:x.example/24//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.com ~all",
		"v=spf1 redirect=%{d}.x.example exp=%{l}", "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}", "v=spf1 ptr:x.example ?all",
		"v=spf1 a//", "v=spf1 %", "v=spf1 include:", "V=SPF1 +ALL", "v=spf1 foo=bar=baz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseSPF(s)
		if err != nil {
			return
		}
		if !IsSPF(s) {
			t.Fatalf("accepted %q, which IsSPF refuses", s)
		}
		terms := len(strings.Fields(s)) - 1
		if rec.Lookups < 0 || rec.Lookups > terms || len(rec.Includes) > rec.Lookups {
			t.Fatalf("%q: %d lookups, %d includes for %d terms", s, rec.Lookups, len(rec.Includes), terms)
		}
		for _, d := range append(rec.Includes, nonEmpty(rec.Redirect)...) {
			if strings.Contains(d, "%") || d != strings.ToLower(d) || strings.HasSuffix(d, ".") {
				t.Fatalf("%q: target %q not normalised", s, d)
			}
		}
	})
}

func FuzzParseDMARC(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=none", "v=DMARC1; p=reject; sp=quarantine; pct=20; rua=mailto:a@b.example!10m,https://x.example/r",
		"v=DMARC1;;;p=none;", "v=DMARC1; p=none; fo=0:1", "v = DMARC1 ; p = Quarantine", "v=DMARC1; p=none; ri=-1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseDMARC(s)
		if err != nil {
			return
		}
		if !IsDMARC(s) {
			t.Fatalf("accepted %q, which IsDMARC refuses", s)
		}
		valid := map[string]bool{"none": true, "quarantine": true, "reject": true}
		if !valid[rec.Policy] || (rec.SubdomainPolicy != "" && !valid[rec.SubdomainPolicy]) || rec.Pct < 0 || rec.Pct > 100 {
			t.Fatalf("%q: invalid result %+v", s, rec)
		}
	})
}

func FuzzParseDKIMKey(f *testing.F) {
	local, _ := keys()
	for _, s := range []string{
		"v=DKIM1; k=rsa; p=" + pubB64(local), "v=DKIM1; p=", "k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"v=DKIM1; p=MIIB", "p=;p=", "=;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseDKIMKey(s)
		if err != nil {
			return
		}
		if k.Public == nil || (k.Type != "rsa" && k.Type != "ed25519") {
			t.Fatalf("%q: %+v", s, k)
		}
		_ = quotedStrings(s)
	})
}
