// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

// MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460).
const (
	// maxPolicy bounds the policy body; RFC 8461 section 3.3 lets senders
	// cap it, and 64 KiB is the size implementations use.
	maxPolicy = 64 << 10
	// policyTimeout bounds one policy fetch (section 3.3 suggests 60 s
	// for senders; a monitor gives up sooner).
	policyTimeout = 20 * time.Second
	// maxMaxAge is section 3.2's upper bound on max_age: 31557600 s.
	maxMaxAge = 31557600
)

// mtaSTSModes are the mode label values (section 5).
var mtaSTSModes = []string{"enforce", "testing", "none"}

// mtaSTSResult is what was measured for one domain.
type mtaSTSResult struct {
	ok        bool   // TXT record and policy valid
	queryOK   bool   // the DNS queries were answered
	mode      string // "" when no valid policy
	maxAge    float64
	mxCovered bool // every MX host matches a policy mx pattern
	tlsRPT    bool // a TLS-RPT record is published
	// mxs: how an enforcing sender judges each MX host (at most
	// maxMXHosts, by preference); none without a valid policy, when the
	// MX query failed, or in mode none, where senders apply no policy.
	mxs []stsMX
	// id is the _mta-sts record's id; policy the policy's content in a
	// canonical form (mode, max_age, sorted mx patterns), "" without a
	// valid policy.
	id, policy string
	why        string
}

// stsMX is one MX host of an MTA-STS domain and its result (stsMXResults).
type stsMX struct {
	host, result string
}

// stsTools are what the MTA-STS checks of one run share: the HTTPS client
// of the policy fetches, the served certificates (read once per MX host),
// the trust anchors (nil: the system's; rootsErr: mta_sts_ca_file could
// not be loaded) and the clock of certificate validity.
type stsTools struct {
	client   *http.Client
	served   *servedCerts
	roots    *x509.CertPool
	rootsErr error
	now      time.Time
}

// mtaSTSPolicy is a parsed policy file.
type mtaSTSPolicy struct {
	mode   string
	maxAge int
	mx     []string
}

// mtaSTS checks the _mta-sts TXT record, fetches and parses the policy,
// compares its mx patterns with the domain's MX hosts, and looks for the
// TLS-RPT record.
func (c checker) mtaSTS(ctx context.Context, domain string, t stsTools) mtaSTSResult {
	r := mtaSTSResult{queryOK: true}
	note := func(format string, a ...any) {
		if r.why == "" {
			r.why = fmt.Sprintf(format, a...)
		}
	}
	// TLS-RPT (RFC 8460 section 3): one TXT record starting "v=TLSRPTv1".
	name := "_smtp._tls." + domain
	if resp, failed := c.query(ctx, name, dns.TypeTXT); failed != "" {
		r.queryOK = false
		note("query %s TXT: %s", name, failed)
	} else {
		n := 0
		for _, t := range resp.TXT() {
			if strings.HasPrefix(t, "v=TLSRPTv1") && strings.Contains(t, "rua=") {
				n++
			}
		}
		r.tlsRPT = n == 1
		if !r.tlsRPT {
			note("%s has %d TLS-RPT records, want 1", name, n)
		}
	}
	// Section 3.1: exactly one TXT record "v=STSv1; id=<1-32 alphanumerics>".
	name = "_mta-sts." + domain
	resp, failed := c.query(ctx, name, dns.TypeTXT)
	if failed != "" {
		r.queryOK = false
		note("query %s TXT: %s", name, failed)
		return r
	}
	var recs []string
	for _, t := range resp.TXT() {
		if strings.HasPrefix(t, "v=STSv1") {
			recs = append(recs, t)
		}
	}
	if len(recs) != 1 {
		note("%s has %d MTA-STS records, want 1", name, len(recs))
		return r
	}
	id, err := checkSTSRecord(recs[0])
	if err != nil {
		note("%s: %v", name, err)
		return r
	}
	if t.rootsErr != nil {
		note("mta_sts_ca_file: %v", t.rootsErr)
		return r
	}
	pol, err := fetchPolicy(ctx, t.client, domain, cmp.Or(c.policyTimeout, policyTimeout))
	if err != nil {
		note("policy of %s: %v", domain, err)
		return r
	}
	r.ok, r.mode, r.maxAge, r.id, r.policy = true, pol.mode, float64(pol.maxAge), id, pol.canonical()
	// The MX hosts must each match a pattern, or senders in enforce mode
	// refuse to deliver to them (section 4.1).
	mxResp, failed := c.query(ctx, domain, dns.TypeMX)
	if failed != "" {
		r.queryOK = false
		note("query %s MX: %s", domain, failed)
		return r
	}
	mxs := mxResp.MX()
	slices.SortStableFunc(mxs, func(a, b dnsclient.MX) int { return int(a.Preference) - int(b.Preference) })
	r.mxCovered = true
	seen := map[string]bool{}
	for _, m := range mxs {
		host := mxLabel(m.Host)
		if host == "" || seen[host] {
			continue
		}
		seen[host] = true
		res := ""
		if !policyCovers(pol.mx, host) {
			r.mxCovered = false
			res = stsMXNotCovered
			note("MX host %s matches no mx pattern of the MTA-STS policy (%s)", host, strings.Join(pol.mx, ", "))
		}
		if len(r.mxs) < maxMXHosts {
			r.mxs = append(r.mxs, stsMX{host: host, result: res})
		}
	}
	if pol.mode == "none" {
		r.mxs = nil
		return r
	}
	// Section 4.2: each covered MX host must serve, over STARTTLS, a
	// certificate valid for its name. The hosts are read concurrently,
	// each at most once per run (shared with DANE and the other domains).
	whys := make([]string, len(r.mxs))
	var wg sync.WaitGroup
	for i := range r.mxs {
		if r.mxs[i].result != "" {
			continue
		}
		wg.Go(func() {
			chain, err := t.served.chain(ctx, r.mxs[i].host)
			r.mxs[i].result, whys[i] = judgeServed(chain, err, r.mxs[i].host, t.roots, t.now)
		})
	}
	wg.Wait()
	for i, why := range whys {
		if why != "" {
			note("MX host %s: %s: %s", r.mxs[i].host, r.mxs[i].result, why)
		}
	}
	return r
}

// canonical is the policy's content as senders apply it: a change of
// order, case, spacing, line ends or unknown fields is none.
func (p *mtaSTSPolicy) canonical() string {
	mx := slices.Clone(p.mx)
	slices.Sort(mx)
	return fmt.Sprintf("mode=%s max_age=%d mx=%s", p.mode, p.maxAge, strings.Join(mx, ","))
}

// checkSTSRecord checks the fields of an MTA-STS TXT record and returns
// its id.
func checkSTSRecord(txt string) (string, error) {
	id := ""
	for f := range strings.SplitSeq(txt, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		if k == "id" {
			id = v
		}
	}
	if id == "" || len(id) > 32 {
		return "", fmt.Errorf("id %q is not 1 to 32 letters and digits", id)
	}
	for i := 0; i < len(id); i++ {
		if !isAlpha(id[i]) && !isDigitByte(id[i]) {
			return "", fmt.Errorf("id %q is not 1 to 32 letters and digits", id)
		}
	}
	return id, nil
}

// stsBaseline is, per domain, the policy content first seen under the
// record's current id.
type stsBaseline struct {
	id, policy string
}

// policyStale: the domain's policy content differs from the one first seen
// under the same id. Section 3.3: senders that have a policy cached fetch
// it again only when the id changes (or max_age runs out), so a changed
// policy needs a new id. The baseline is this process's: a change made
// while the daemon was down is not seen.
func (c *Collector) policyStale(domain string, r *mtaSTSResult) bool {
	if !r.ok {
		return false
	}
	c.stsMu.Lock()
	defer c.stsMu.Unlock()
	b, ok := c.stsSeen[domain]
	if !ok || b.id != r.id {
		c.stsSeen[domain] = stsBaseline{id: r.id, policy: r.policy}
		return false
	}
	return b.policy != r.policy
}

// fetchPolicy GETs https://mta-sts.<domain>/.well-known/mta-sts.txt
// (section 3.3): certificate verified for that name, no redirects, a 200
// answer, at most maxPolicy bytes.
func fetchPolicy(ctx context.Context, client *http.Client, domain string, timeout time.Duration) (*mtaSTSPolicy, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://mta-sts."+domain+"/.well-known/mta-sts.txt", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %d (redirects are not followed)", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicy+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxPolicy {
		return nil, fmt.Errorf("policy larger than %d bytes", maxPolicy)
	}
	return parsePolicy(string(body))
}

// parsePolicy parses a policy file (section 3.2): "key: value" lines
// ending in CRLF (LF accepted), version first.
func parsePolicy(body string) (*mtaSTSPolicy, error) {
	p := &mtaSTSPolicy{maxAge: -1}
	version := ""
	for i, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d is not key: value", i+1)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			version = v
		case "mode":
			p.mode = v
		case "max_age":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > maxMaxAge {
				return nil, fmt.Errorf("max_age %q is not 0..%d", v, maxMaxAge)
			}
			p.maxAge = n
		case "mx":
			p.mx = append(p.mx, strings.ToLower(v))
		}
	}
	switch {
	case version != "STSv1":
		return nil, fmt.Errorf("version %q, want STSv1", version)
	case p.mode != "enforce" && p.mode != "testing" && p.mode != "none":
		return nil, fmt.Errorf("mode %q is not enforce, testing or none", p.mode)
	case p.maxAge < 0:
		return nil, errors.New("no max_age")
	case len(p.mx) == 0 && p.mode != "none":
		return nil, errors.New("no mx pattern")
	}
	return p, nil
}

// policyCovers: host matches a pattern: the same name, or "*.rest" with
// exactly one label in front of rest (section 4.1).
func policyCovers(patterns []string, host string) bool {
	host = mxLabel(host)
	for _, p := range patterns {
		p = mxLabel(p)
		if p == host {
			return true
		}
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			if label, tail, found := strings.Cut(host, "."); found && label != "" && tail == rest {
				return true
			}
		}
	}
	return false
}

// policyClient is the HTTPS client of the policy fetches: names resolved
// with the collector's resolver, dialled with dial, certificates verified
// against roots (nil: the system's), no redirects, no proxy.
func (c checker) policyClient(dial func(ctx context.Context, network, addr string) (net.Conn, error), roots *x509.CertPool) *http.Client {
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			a, err := c.firstAddr(ctx, host)
			if err != nil {
				return nil, err
			}
			return dial(ctx, network, net.JoinHostPort(a.String(), port))
		},
		TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    policyTimeout,
		ResponseHeaderTimeout:  policyTimeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableKeepAlives:      true,
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
