// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package dnstest runs an authoritative-looking DNS server for tests on
// 127.0.0.1 (UDP and TCP on one port), built with github.com/miekg/dns and
// serving records from zone-file text. Names can be made to misbehave (never
// answer, SERVFAIL, REFUSED, truncate over UDP), and every query is counted,
// so tests can assert what was actually sent. It is for tests only and never
// talks to any other server.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Behaviour is how the server treats queries for one name.
type Behaviour int

// Behaviours.
const (
	Answer   Behaviour = iota // answer from the zone (NXDOMAIN when absent)
	Hang                      // read the query and never answer
	ServFail                  // answer SERVFAIL
	Refused                   // answer REFUSED
	Truncate                  // over UDP answer empty with TC set; over TCP answer normally
)

// Server is a running test DNS server.
type Server struct {
	// Addr is host:port for both UDP and TCP.
	Addr string

	mu      sync.Mutex
	rrs     map[string][]dns.RR // by lower-case owner name
	soa     dns.RR
	special map[string]Behaviour
	counts  map[qkey]int
	total   int
}

type qkey struct {
	name  string
	qtype uint16
}

// Start parses zone (zone-file syntax; the first SOA is used for negative
// answers) and serves it until the test ends.
func Start(t testing.TB, zone string) *Server {
	t.Helper()
	s := &Server{special: map[string]Behaviour{}, counts: map[qkey]int{}}
	s.SetZone(t, zone)
	pc, ln := listenPair(t)
	s.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	for _, srv := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
	}
	t.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
	})
	return s
}

// listenPair binds UDP and TCP on the same free loopback port.
func listenPair(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: listen udp: %v", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
	}
	t.Fatal("dnstest: no port free for both UDP and TCP")
	return nil, nil
}

// SetZone replaces the records served.
func (s *Server) SetZone(t testing.TB, zone string) {
	t.Helper()
	rrs := map[string][]dns.RR{}
	var soa dns.RR
	zp := dns.NewZoneParser(strings.NewReader(zone), ".", "test.zone")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		name := strings.ToLower(rr.Header().Name)
		rrs[name] = append(rrs[name], rr)
		if _, isSOA := rr.(*dns.SOA); isSOA && soa == nil {
			soa = rr
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("dnstest: zone: %v", err)
	}
	s.mu.Lock()
	s.rrs, s.soa = rrs, soa
	s.mu.Unlock()
}

// Set makes queries for name (any type) behave as b.
func (s *Server) Set(name string, b Behaviour) {
	s.mu.Lock()
	s.special[dns.Fqdn(strings.ToLower(name))] = b
	s.mu.Unlock()
}

// Count returns how many queries for name and qtype arrived (UDP and TCP).
func (s *Server) Count(name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[qkey{dns.Fqdn(strings.ToLower(name)), qtype}]
}

// Total returns how many queries arrived.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	s.mu.Lock()
	s.counts[qkey{name, q.Qtype}]++
	s.total++
	b := s.special[name]
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	udp := w.LocalAddr().Network() == "udp"
	switch {
	case b == Hang:
		s.mu.Unlock()
		return
	case b == ServFail:
		m.Rcode = dns.RcodeServerFailure
	case b == Refused:
		m.Rcode = dns.RcodeRefused
	case b == Truncate && udp:
		m.Truncated = true
	default:
		s.fill(m, name, q.Qtype)
	}
	s.mu.Unlock()
	_ = w.WriteMsg(m)
}

// fill answers from the zone, following one CNAME; s.mu is held.
func (s *Server) fill(m *dns.Msg, name string, qtype uint16) {
	rrs, exists := s.rrs[name]
	for _, rr := range rrs {
		if cn, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME {
			m.Answer = append(m.Answer, rr)
			for _, t := range s.rrs[strings.ToLower(cn.Target)] {
				if t.Header().Rrtype == qtype {
					m.Answer = append(m.Answer, t)
				}
			}
			return
		}
		if rr.Header().Rrtype == qtype {
			m.Answer = append(m.Answer, rr)
		}
	}
	if len(m.Answer) > 0 {
		return
	}
	if !exists {
		m.Rcode = dns.RcodeNameError
	}
	if s.soa != nil {
		m.Ns = append(m.Ns, s.soa)
	}
}
