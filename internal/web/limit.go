// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package web

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// limitListener caps the connections open at once on one listener, in all
// and per client address, so that no client (authenticated or not) can make
// the daemon hold file descriptors and memory without bound.
//
// When a limit is reached the listener makes room by closing an idle
// keep-alive connection rather than turning the newcomer away: at the
// per-address limit, the longest-idle connection of that address; at the
// listener limit, an idle connection of the address holding the most
// connections (and more than the newcomer's address, or the newcomer's own
// address), the longest-idle of those. A client that opened many
// connections so can never push out the single keep-alive connection of a
// Prometheus server.
//
// With nothing idle to close, a connection over its address limit, or from
// an address that already has a connection open, is closed at once: Accept
// keeps draining the kernel's listen backlog, so a flood from one source
// cannot queue ahead of other clients. A first connection from an address
// waits until a slot frees (a connection closes or goes idle); Accept pauses
// meanwhile and further connections wait in the kernel's backlog, holding
// no file descriptor of ours.
type limitListener struct {
	net.Listener
	max, perAddr int
	pressure     *pressure

	// beforeServe runs once, at the first Accept, in the goroutine that
	// serves the listener and before any connection is handed over.
	beforeServe func()
	first       sync.Once

	mu      sync.Mutex
	cond    sync.Cond // signalled when a connection closes or goes idle, and on Close
	conns   map[*limitedConn]struct{}
	byAddr  map[string]int
	waiting int // connections held in admit until a slot frees
	closed  bool
}

func newLimitListener(l net.Listener, maxConns, perAddr int, p *pressure) *limitListener {
	ll := &limitListener{
		Listener: l, max: maxConns, perAddr: perAddr, pressure: p,
		conns: map[*limitedConn]struct{}{}, byAddr: map[string]int{},
	}
	ll.cond.L = &ll.mu
	return ll
}

// limitedConn is a connection counted by its limitListener.
type limitedConn struct {
	net.Conn
	l    *limitListener
	addr string
	// Guarded by l.mu.
	state     http.ConnState
	idleSince time.Time // zero unless the server reported the connection idle
	released  bool
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.first.Do(func() {
		if l.beforeServe != nil {
			l.beforeServe()
		}
	})
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc, err := l.admit(c)
		if err != nil {
			return nil, err
		}
		if lc != nil {
			return lc, nil
		}
	}
}

// admit counts c in, closing idle connections to make room or waiting for
// one to free. It returns nil if c was refused (and closed).
func (l *limitListener) admit(c net.Conn) (*limitedConn, error) {
	addr := addrKey(c.RemoteAddr())
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if l.closed {
			c.Close()
			return nil, net.ErrClosed
		}
		n := l.byAddr[addr]
		if n >= l.perAddr {
			if v := l.idleVictimLocked(func(o *limitedConn) bool { return o.addr == addr }); v != nil {
				l.evictLocked(v)
				continue
			}
			l.refuseLocked(c)
			return nil, nil
		}
		if len(l.conns) >= l.max {
			if v := l.idleVictimLocked(func(o *limitedConn) bool { return o.addr == addr || l.byAddr[o.addr] > n }); v != nil {
				l.evictLocked(v)
				continue
			}
			if n > 0 {
				l.refuseLocked(c)
				return nil, nil
			}
			l.waiting++
			l.cond.Wait()
			l.waiting--
			continue
		}
		lc := &limitedConn{Conn: c, l: l, addr: addr}
		l.conns[lc] = struct{}{}
		l.byAddr[addr]++
		return lc, nil
	}
}

// idleVictimLocked picks, among the idle connections that ok accepts, one of
// the address holding the most connections, the longest idle of those.
func (l *limitListener) idleVictimLocked(ok func(*limitedConn) bool) *limitedConn {
	var v *limitedConn
	for o := range l.conns {
		if o.idleSince.IsZero() || !ok(o) {
			continue
		}
		if v == nil || l.byAddr[o.addr] > l.byAddr[v.addr] ||
			l.byAddr[o.addr] == l.byAddr[v.addr] && o.idleSince.Before(v.idleSince) {
			v = o
		}
	}
	return v
}

// evictLocked closes an idle connection. The server's goroutine for it sees
// the read fail and ends; a request that was arriving at that very moment is
// lost the way http.Server.Shutdown loses it, and HTTP clients retry an
// idempotent request (a scrape) on a new connection.
func (l *limitListener) evictLocked(v *limitedConn) {
	l.releaseLocked(v)
	v.Conn.Close() // the socket; closing never blocks
	l.pressure.note("closed_idle_connections")
}

func (l *limitListener) refuseLocked(c net.Conn) {
	c.Close()
	l.pressure.note("refused_connections")
}

func (l *limitListener) releaseLocked(c *limitedConn) {
	if c.released {
		return
	}
	c.released = true
	delete(l.conns, c)
	if l.byAddr[c.addr]--; l.byAddr[c.addr] <= 0 {
		delete(l.byAddr, c.addr)
	}
	l.cond.Broadcast()
}

func (l *limitListener) Close() error {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}

// open returns the number of connections counted in.
func (l *limitListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	c.l.releaseLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// trackConnState is the http.Server's ConnState hook: it tells each
// connection's listener when the connection is idle between requests, and
// so may be closed to make room.
func trackConnState(c net.Conn, st http.ConnState) {
	lc := unwrapConn(c)
	if lc == nil {
		return
	}
	l := lc.l
	l.mu.Lock()
	defer l.mu.Unlock()
	lc.state = st
	if st == http.StateIdle && !lc.released {
		lc.idleSince = time.Now()
		l.cond.Broadcast()
	} else {
		lc.idleSince = time.Time{}
	}
}

// unwrapConn finds the limitedConn under c (a *tls.Conn when serving TLS).
func unwrapConn(c net.Conn) *limitedConn {
	for c != nil {
		switch x := c.(type) {
		case *limitedConn:
			return x
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// addrKey is the client address that the per-address limits count: the
// IPv4 address, or the /64 an IPv6 address is in (one host usually holds a
// whole /64). Other kinds of address (a Unix socket) count as one.
func addrKey(a net.Addr) string {
	if a == nil {
		return ""
	}
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ipKey(ip)
		}
	}
	return addrKeyString(a.String())
}

// addrKeyString is addrKey for an http.Request's RemoteAddr.
func addrKeyString(s string) string {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ipKey(ap.Addr())
	}
	return s
}

func ipKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// pressure logs that a limit was reached: the first time at once, then at
// most once per interval, with how many times each limit was hit since the
// last line.
type pressure struct {
	logger   *slog.Logger
	interval time.Duration

	mu     sync.Mutex
	last   time.Time
	timer  *time.Timer // pending flush
	counts map[string]int
}

func newPressure(logger *slog.Logger) *pressure {
	return &pressure{logger: logger, interval: time.Minute, counts: map[string]int{}}
}

func (p *pressure) note(what string) {
	if p == nil || p.logger == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[what]++
	if p.timer != nil {
		return
	}
	if wait := p.interval - time.Since(p.last); !p.last.IsZero() && wait > 0 {
		p.timer = time.AfterFunc(wait, p.flush)
		return
	}
	p.flushLocked()
}

func (p *pressure) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	p.flushLocked()
}

func (p *pressure) flushLocked() {
	args := make([]any, 0, 2*len(p.counts))
	for k, n := range p.counts {
		args = append(args, k, n)
	}
	p.logger.Warn("HTTP limits reached; counts since the last such message", args...)
	clear(p.counts)
	p.last = time.Now()
}
