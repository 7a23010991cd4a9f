// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnstest"
)

// spfZone holds one domain per case of TestEvalSPF; its records follow the
// examples of RFC 7208 appendix A where they fit.
func spfZone() string {
	var many, includes strings.Builder
	for i := range 11 {
		fmt.Fprintf(&many, "many-mx.test. IN MX %d mx%d.many-mx.test.\n", i, i)
		fmt.Fprintf(&many, "mx%d.many-mx.test. IN A 192.0.2.%d\n", i, 100+i)
		fmt.Fprintf(&includes, " include:i%d.test", i)
		fmt.Fprintf(&many, "i%d.test. IN TXT \"v=spf1 ip4:203.0.113.%d -all\"\n", i, i)
	}
	return `
$TTL 300
test.              IN SOA ns.test. admin.test. 1 3600 600 86400 300
ip.test.           IN TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8:1::/48 -all"
soft.test.         IN TXT "v=spf1 ip4:192.0.2.1 ~all"
neutral.test.      IN TXT "v=spf1 ip4:192.0.2.1 ?all"
noall.test.        IN TXT "v=spf1 ip4:192.0.2.1"
pass-all-first.test. IN TXT "v=spf1 -ip4:192.0.2.7 all"
inc.test.          IN TXT "v=spf1 include:provider.test -all"
provider.test.     IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
inc-none.test.     IN TXT "v=spf1 include:norecord.test -all"
norecord.test.     IN TXT "some other text"
inc-temp.test.     IN TXT "v=spf1 include:broken.test -all"
redir.test.        IN TXT "v=spf1 redirect=provider.test"
redir-none.test.   IN TXT "v=spf1 redirect=norecord.test"
redir-all.test.    IN TXT "v=spf1 redirect=provider.test ~all"
a.test.            IN TXT "v=spf1 a:host.a.test/24 a//64 -all"
a.test.            IN AAAA 2001:db8:2::1
host.a.test.       IN A   192.0.2.200
mx.test.           IN TXT "v=spf1 mx -all"
mx.test.           IN MX  10 mail.mx.test.
mail.mx.test.      IN A   192.0.2.25
many-mx.test.      IN TXT "v=spf1 mx -all"
` + many.String() + `
exists.test.       IN TXT "v=spf1 exists:%{ir}.%{v}._spf.%{d} -all"
1.2.0.192.in-addr._spf.exists.test. IN A 127.0.0.2
macro.test.        IN TXT "v=spf1 exists:%{l}.%{d2}.%{o1}.macro.test -all"
postmaster.macro.test.test.macro.test. IN A 127.0.0.2
ptr.test.          IN TXT "v=spf1 ptr -all"
9.2.0.192.in-addr.arpa. IN PTR host.ptr.test.
host.ptr.test.     IN A   192.0.2.9
10.2.0.192.in-addr.arpa. IN PTR liar.ptr.test.
limit.test.        IN TXT "v=spf1` + includes.String() + ` -all"
void.test.         IN TXT "v=spf1 a:gone1.test a:gone2.test a:gone3.test ip4:192.0.2.1 -all"
two-voids.test.    IN TXT "v=spf1 a:gone1.test a:gone2.test ip4:192.0.2.1 -all"
two.test.          IN TXT "v=spf1 ip4:192.0.2.1 -all"
two.test.          IN TXT "v=spf1 -all"
syntax.test.       IN TXT "v=spf1 ip4:192.0.2.1 foo:bar -all"
exp-macro.test.    IN TXT "v=spf1 exists:%{c}.test -all"
hung-inc.test.     IN TXT "v=spf1 ip4:192.0.2.1 include:hung.test -all"
`
}

func TestEvalSPF(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, spfZone())
	srv.Set("broken.test", dnstest.ServFail)
	srv.Set("servfail.test", dnstest.ServFail)
	srv.Set("hung.test", dnstest.Hang)
	res, err := dnsclient.New(resolverConfig(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := checker{res: res}
	for _, tc := range []struct {
		domain, ip, want string
	}{
		{"ip.test", "192.0.2.44", spfPass},
		{"ip.test", "2001:db8:1:ff::1", spfPass},
		{"ip.test", "192.0.3.1", spfFail},
		{"ip.test", "2001:db8:2::1", spfFail},
		{"ip.test", "::ffff:192.0.2.44", spfPass}, // a mapped address is its IPv4 one
		{"soft.test", "192.0.2.2", spfSoftfail},
		{"neutral.test", "192.0.2.2", spfNeutral},
		{"noall.test", "192.0.2.2", spfNeutral},
		{"noall.test", "192.0.2.1", spfPass},
		{"pass-all-first.test", "192.0.2.7", spfFail}, // the first match decides
		{"pass-all-first.test", "192.0.2.8", spfPass},
		{"inc.test", "198.51.100.9", spfPass},
		{"inc.test", "192.0.2.1", spfFail}, // the include's fail is no match; -all decides
		{"inc-none.test", "192.0.2.1", spfPermerror},
		{"inc-temp.test", "192.0.2.1", spfTemperror},
		{"redir.test", "198.51.100.9", spfPass},
		{"redir.test", "192.0.2.1", spfFail},
		{"redir-none.test", "192.0.2.1", spfPermerror},
		{"redir-all.test", "192.0.2.1", spfSoftfail}, // all present: redirect ignored
		{"a.test", "192.0.2.99", spfPass},            // host.a.test/24
		{"a.test", "2001:db8:2::ffff", spfPass},      // a//64
		{"a.test", "2001:db8:3::1", spfFail},
		{"mx.test", "192.0.2.25", spfPass},
		{"mx.test", "192.0.2.26", spfFail},
		{"many-mx.test", "192.0.2.100", spfPermerror}, // 11 MX names
		{"exists.test", "192.0.2.1", spfPass},         // 1.2.0.192.in-addr._spf.exists.test
		{"exists.test", "192.0.2.2", spfFail},
		{"macro.test", "192.0.2.1", spfPass}, // postmaster.macro.test.test.macro.test
		{"ptr.test", "192.0.2.9", spfPass},
		{"ptr.test", "192.0.2.10", spfFail}, // the PTR name does not resolve back
		{"ptr.test", "192.0.2.11", spfFail}, // no PTR
		{"limit.test", "203.0.113.10", spfPermerror},
		{"void.test", "192.0.2.1", spfPermerror},
		{"two-voids.test", "192.0.2.1", spfPass},
		{"two.test", "192.0.2.1", spfPermerror},
		{"syntax.test", "192.0.2.1", spfPermerror},
		{"exp-macro.test", "192.0.2.1", spfPermerror},
		{"nothing.test", "192.0.2.1", spfNone},  // NXDOMAIN
		{"norecord.test", "192.0.2.1", spfNone}, // TXT but no SPF
		{"servfail.test", "192.0.2.1", spfTemperror},
		{"hung-inc.test", "192.0.2.1", spfPass},      // matched before the hung include
		{"hung-inc.test", "192.0.2.2", spfTemperror}, // the hung include times out
	} {
		t.Run(tc.domain+"/"+tc.ip, func(t *testing.T) {
			t.Parallel()
			got := c.evalSPF(context.Background(), tc.domain, netip.MustParseAddr(tc.ip))
			if got.result != tc.want {
				t.Errorf("evalSPF(%s, %s) = %s (%s), want %s", tc.domain, tc.ip, got.result, got.why, tc.want)
			}
			if got.result != spfPass && got.why == "" {
				t.Errorf("evalSPF(%s, %s) = %s without a reason", tc.domain, tc.ip, got.result)
			}
		})
	}
}

func TestExpandMacro(t *testing.T) {
	t.Parallel()
	e := &spfEval{ip: netip.MustParseAddr("2001:db8::cb01"), sender: "example.com"}
	for _, tc := range []struct{ spec, want string }{
		// RFC 7208 section 7.4's examples, the current domain
		// email.example.com, the sender postmaster@example.com.
		{"%{d}", "email.example.com"},
		{"%{d4}", "email.example.com"},
		{"%{d3}", "email.example.com"},
		{"%{d2}", "example.com"},
		{"%{d1}.x.test", "com.x.test"},
		{"%{dr}", "com.example.email"},
		{"%{d2r}", "example.email"},
		{"%{l}.x.test", "postmaster.x.test"},
		{"%{o}", "example.com"},
		{"%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"},
		{"%{s}.x.test", "postmaster@example.com.x.test"},
	} {
		got, err := e.expand(tc.spec, "email.example.com")
		if tc.spec == "%{s}.x.test" {
			// "@" is not a hostname character: such a target cannot be
			// queried, an error rather than a lookup of garbage.
			if err == nil {
				t.Errorf("expand(%q) = %q, want an error", tc.spec, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tc.spec, got, err, tc.want)
		}
	}
}
