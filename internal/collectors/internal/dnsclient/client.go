// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package dnsclient is the small stub resolver shared by the dnsbl,
// mail_dns and roundtrip (DKIM keys) collectors. It sends recursive queries with github.com/miekg/dns
// to the configured servers (a local unbound, say) or to the nameservers of
// /etc/resolv.conf, over UDP with a TCP retry when the answer is truncated.
//
// Unlike net.Resolver it keeps what the collectors need to judge an answer:
// the response code (NXDOMAIN is "not listed", SERVFAIL is "unknown") and
// the TTLs. Answers are cached for their TTL (negative answers for the SOA's
// negative TTL, RFC 2308), identical queries in flight are sent once, the
// number of queries in flight is bounded, and every query has its own
// deadline. Its semaphore serves queries first come, first served: keeping
// one list that never answers from holding every slot is the caller's part
// (the dnsbl collector dispatches its queries fairly among the lists).
//
// It needs nothing but outgoing UDP and TCP to the resolver.
package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

const (
	// ednsSize is the EDNS0 buffer size the DNS flag day 2020 settled on.
	ednsSize = 1232
	// maxCacheTTL caps how long any answer is kept, whatever its TTL says.
	maxCacheTTL = 24 * time.Hour
	// maxCacheEntries bounds the cache; the names asked come from config,
	// so this is only reached by a pathological config.
	maxCacheEntries = 8192
	// resolvConf is where the system's resolvers are listed.
	resolvConf = "/etc/resolv.conf"
)

// Client resolves names. It is safe for concurrent use.
type Client struct {
	servers    []string // host:port; empty: resolvConf
	resolvConf string
	timeout    time.Duration
	sem        chan struct{}
	now        func() time.Time

	mu       sync.Mutex
	cache    map[cacheKey]cacheEntry
	inflight map[cacheKey]*call
	sent     int // queries put on the wire, for tests and debugging
}

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	resp    *Response
	expires time.Time
}

type call struct {
	done chan struct{}
	resp *Response
	err  error
}

// New builds a client from a validated Config (defaults applied). now is the
// clock used for cache expiry; nil means time.Now.
func New(cfg Config, now func() time.Time) (*Client, error) {
	cfg.ApplyDefaults()
	if errs := cfg.Validate("resolver"); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var servers []string
	for _, s := range cfg.Servers {
		hp, _ := ParseServer(s) // validated above
		servers = append(servers, hp)
	}
	if now == nil {
		now = time.Now
	}
	return &Client{
		servers:    servers,
		resolvConf: resolvConf,
		timeout:    cfg.QueryTimeout.D(),
		sem:        make(chan struct{}, cfg.MaxConcurrent),
		now:        now,
		cache:      map[cacheKey]cacheEntry{},
		inflight:   map[cacheKey]*call{},
	}, nil
}

// Sent returns how many queries the client has put on the wire.
func (c *Client) Sent() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

// Query asks for name's records of type qtype. A response is returned for
// every DNS answer, whatever its rcode; an error means no usable answer
// arrived (timeout, network error, ctx done). The returned Response is
// shared with the cache and must not be modified.
func (c *Client) Query(ctx context.Context, name string, qtype uint16) (*Response, error) {
	k := cacheKey{name: dns.Fqdn(strings.ToLower(name)), qtype: qtype}
	c.mu.Lock()
	if e, ok := c.cache[k]; ok {
		if c.now().Before(e.expires) {
			c.mu.Unlock()
			return e.resp, nil
		}
		delete(c.cache, k)
	}
	if cl, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.resp, cl.err
		case <-ctx.Done():
			return nil, fmt.Errorf("query %s: %w", k.name, ctx.Err())
		}
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[k] = cl
	c.mu.Unlock()

	cl.resp, cl.err = c.resolve(ctx, k)

	c.mu.Lock()
	delete(c.inflight, k)
	if cl.err == nil && cl.resp.ttl > 0 {
		c.store(k, cl.resp)
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.resp, cl.err
}

// store caches resp; c.mu is held.
func (c *Client) store(k cacheKey, resp *Response) {
	now := c.now()
	if len(c.cache) >= maxCacheEntries {
		for ck, e := range c.cache {
			if !now.Before(e.expires) {
				delete(c.cache, ck)
			}
		}
		if len(c.cache) >= maxCacheEntries {
			clear(c.cache)
		}
	}
	c.cache[k] = cacheEntry{resp: resp, expires: now.Add(resp.ttl)}
}

// resolve asks each server in turn until one gives an answer other than
// SERVFAIL or REFUSED, as stub resolvers do.
func (c *Client) resolve(ctx context.Context, k cacheKey) (*Response, error) {
	servers, err := c.serverList()
	if err != nil {
		return nil, err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("query %s: waiting for a free slot: %w", k.name, ctx.Err())
	}
	defer func() { <-c.sem }()

	var (
		fallback *Response // a SERVFAIL or REFUSED, kept if nobody does better
		last     error
	)
	for _, srv := range servers {
		if ctx.Err() != nil {
			break
		}
		resp, err := c.exchange(ctx, srv, k)
		switch {
		case err != nil:
			last = err
		case resp.Rcode == dns.RcodeServerFailure || resp.Rcode == dns.RcodeRefused:
			fallback = resp
		default:
			return resp, nil
		}
	}
	if fallback != nil {
		return fallback, nil
	}
	if last == nil {
		last = fmt.Errorf("query %s: %w", k.name, ctx.Err())
	}
	return nil, last
}

// exchange sends one query to one server within the per-query deadline.
func (c *Client) exchange(ctx context.Context, server string, k cacheKey) (*Response, error) {
	qctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(k.name, k.qtype)
	m.RecursionDesired = true
	m.SetEdns0(ednsSize, false)
	r, err := c.exchangeNet(qctx, "udp", server, m)
	if err == nil && r.Truncated {
		r, err = c.exchangeNet(qctx, "tcp", server, m)
	}
	if err != nil {
		return nil, err
	}
	return newResponse(r), nil
}

func (c *Client) exchangeNet(ctx context.Context, network, server string, m *dns.Msg) (*dns.Msg, error) {
	c.mu.Lock()
	c.sent++
	c.mu.Unlock()
	dc := &dns.Client{Net: network, Timeout: c.timeout, UDPSize: ednsSize}
	conn, err := dc.DialContext(ctx, server)
	if err != nil {
		return nil, wrapErr(ctx, network, server, err)
	}
	defer conn.Close()
	// miekg/dns honours only the deadline of ctx; closing the connection
	// also ends the read when the run is cancelled without a deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	r, _, err := dc.ExchangeWithConnContext(ctx, m, conn)
	if err != nil {
		return nil, wrapErr(ctx, network, server, err)
	}
	// A reply for another question is not ours (a confused or spoofing
	// middlebox); the ID check alone is 16 bits.
	if len(r.Question) != 1 || !strings.EqualFold(r.Question[0].Name, m.Question[0].Name) || r.Question[0].Qtype != m.Question[0].Qtype {
		return nil, fmt.Errorf("query %s via %s/%s: %w", m.Question[0].Name, network, server, errMismatch)
	}
	return r, nil
}

var errMismatch = errors.New("answer is for a different question")

func wrapErr(ctx context.Context, network, server string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("query via %s/%s: %w", network, server, err)
}

// serverList returns the configured servers or, when none are, the
// nameservers of resolv.conf (read every time: it is small and may change).
func (c *Client) serverList() ([]string, error) {
	if len(c.servers) > 0 {
		return c.servers, nil
	}
	return systemServers(c.resolvConf)
}

func systemServers(path string) ([]string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("read system resolvers: %w", err)
	}
	var out []string
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read system resolvers: no nameserver in %s", path)
	}
	return out, nil
}

// Failure reasons: a fixed enumeration, used as label values.
const (
	ReasonTimeout    = "timeout"     // no answer before the per-query or run deadline
	ReasonNetwork    = "network"     // could not send or read (refused port, unreachable, bad reply)
	ReasonServfail   = "servfail"    // the resolver could not get an answer
	ReasonRefused    = "refused"     // the resolver refused to answer (ACL, rate limit)
	ReasonOtherRcode = "other_rcode" // FORMERR, NOTIMP and the like
)

// FailureReason says why (resp, err) is not a usable answer, or "" when it
// is one (NOERROR or NXDOMAIN).
func FailureReason(resp *Response, err error) string {
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return ReasonTimeout
		}
		return ReasonNetwork
	}
	switch resp.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
		return ""
	case dns.RcodeServerFailure:
		return ReasonServfail
	case dns.RcodeRefused:
		return ReasonRefused
	default:
		return ReasonOtherRcode
	}
}
