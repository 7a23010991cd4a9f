// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// testServer is a server on 127.0.0.1 whose /block requests wait until
// release is called; entered receives one value per /block request that
// reached the handler.
type testServer struct {
	addr    string
	srv     *Server
	entered chan struct{}
	release func()
}

func startServer(t *testing.T, webConfig string, lim limits) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "mailwatch_test", Help: "Test."}))
	released := make(chan struct{})
	ts := &testServer{entered: make(chan struct{}, 100)}
	var once atomic.Bool
	ts.release = func() {
		if once.CompareAndSwap(false, true) {
			close(released)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/", NewHandler(Options{Gatherer: reg, Logger: zap.NewNop()}))
	mux.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) {
		ts.entered <- struct{}{}
		<-released
		fmt.Fprintln(w, "released")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = l.Addr().String()
	ts.srv = serve([]net.Listener{l}, mux, webConfig, slog.New(slog.DiscardHandler), lim)
	t.Cleanup(func() {
		ts.release()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		select {
		case err := <-ts.srv.Err():
			t.Errorf("serve: %v", err)
		default:
		}
	})
	return ts
}

func (ts *testServer) listener() *limitListener { return ts.srv.listeners[0] }

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitEntered waits for n /block requests to reach the handler.
func (ts *testServer) waitEntered(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-ts.entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d /block requests reached the handler", i, n)
		}
	}
}

// inState counts the listener's connections in state st.
func (l *limitListener) inState(st http.ConnState) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for c := range l.conns {
		if c.state == st {
			n++
		}
	}
	return n
}

func (l *limitListener) waiters() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiting
}

// dialFrom connects from source address src (127.0.0.x: Linux routes all
// of 127/8 to lo); the test is skipped where only 127.0.0.1 is usable.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if src != "127.0.0.1" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		if src != "127.0.0.1" {
			t.Skipf("cannot connect from %s: %v", src, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// clientFrom is an HTTP client whose connections come from src.
func clientFrom(t *testing.T, src string) *http.Client {
	t.Helper()
	if l, err := net.Listen("tcp", net.JoinHostPort(src, "0")); err != nil {
		t.Skipf("cannot use source address %s: %v", src, err)
	} else {
		l.Close()
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// roundTrip sends a GET for path on c and reads the answer.
func roundTrip(c net.Conn, br *bufio.Reader, path string, header ...string) (*http.Response, string, error) {
	req := "GET " + path + " HTTP/1.1\r\nHost: mailwatchd\r\n"
	for _, h := range header {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body), err
}

// mustRoundTrip is roundTrip of GET path that fails the test, saying what
// the request was, unless the answer is a 200.
func mustRoundTrip(t *testing.T, c net.Conn, br *bufio.Reader, path, what string) {
	t.Helper()
	if resp, _, err := roundTrip(c, br, path); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %v %v", what, resp, err)
	}
}

// newScraper is Prometheus at 127.0.0.2: it scrapes addr once and returns
// the function that scrapes again on the same keep-alive connection.
func newScraper(t *testing.T, addr string) (scrape func(what string)) {
	t.Helper()
	prom := dialFrom(t, "127.0.0.2", addr)
	br := bufio.NewReader(prom)
	scrape = func(what string) {
		t.Helper()
		mustRoundTrip(t, prom, br, "/metrics", what)
	}
	scrape("first scrape")
	return scrape
}

// closedByServer reports whether the server has closed c (reading it gives
// EOF or a reset). It waits up to 10 s for that.
func closedByServer(c net.Conn, br *bufio.Reader) (bool, error) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := br.ReadByte()
	switch {
	case err == nil:
		return false, errors.New("the server sent data")
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return true, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, nil
	default:
		return false, err
	}
}

func testLimits() limits {
	lim := defaultLimits()
	lim.readHeaderTimeout, lim.readTimeout = time.Minute, time.Minute
	return lim
}

// cappedLimits are testLimits with maxConns connections to a listener, at
// most perAddr of them from one address.
func cappedLimits(maxConns, perAddr int) limits {
	lim := testLimits()
	lim.maxConns, lim.maxConnsPerAddr = maxConns, perAddr
	return lim
}

func TestServeSetsLimits(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := Serve([]net.Listener{l}, http.NotFoundHandler(), "", slog.New(slog.DiscardHandler))
	defer s.Shutdown(context.Background())
	srv := s.srvs[0]
	if srv.IdleTimeout < time.Minute || srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 ||
		srv.WriteTimeout < 20*time.Second || srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 64<<10 ||
		srv.HTTP2 == nil || srv.HTTP2.MaxConcurrentStreams <= 0 || srv.ConnState == nil {
		t.Errorf("server limits: idle %v, read header %v, read %v, write %v, header bytes %d, http2 %+v",
			srv.IdleTimeout, srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.MaxHeaderBytes, srv.HTTP2)
	}
	if ll := s.listeners[0]; ll.max != maxConns || ll.perAddr != maxConnsPerAddr {
		t.Errorf("listener limits %d/%d", ll.max, ll.perAddr)
	}
}

// An idle keep-alive connection is closed after the idle timeout.
func TestIdleKeepAliveConnectionClosed(t *testing.T) {
	t.Parallel()
	lim := testLimits()
	lim.idleTimeout = 100 * time.Millisecond
	ts := startServer(t, "", lim)
	c := dialFrom(t, "127.0.0.1", ts.addr)
	br := bufio.NewReader(c)
	if resp, _, err := roundTrip(c, br, "/-/healthy"); err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("keep-alive request: %v %v", resp, err)
	}
	if closed, err := closedByServer(c, br); !closed {
		t.Fatalf("an idle keep-alive connection is still open 10 s after its last request (%v)", err)
	}
	waitFor(t, "the connection to be released", func() bool { return ts.listener().open() == 0 })
}

// The listener never holds more than its cap: connections beyond it from
// an address that already has one are closed without being served, a
// first connection from another address waits for a slot, and a scrape
// gets in as soon as a connection is idle.
func TestConnectionCap(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "", cappedLimits(4, 8))

	type held struct {
		c  net.Conn
		br *bufio.Reader
	}
	var blockers []held
	for range 4 {
		c := dialFrom(t, "127.0.0.1", ts.addr)
		io.WriteString(c, "GET /block HTTP/1.1\r\nHost: mailwatchd\r\n\r\n")
		blockers = append(blockers, held{c, bufio.NewReader(c)})
	}
	ts.waitEntered(t, 4)
	for i := range 3 {
		c := dialFrom(t, "127.0.0.1", ts.addr)
		br := bufio.NewReader(c)
		io.WriteString(c, "GET /block HTTP/1.1\r\nHost: mailwatchd\r\n\r\n")
		if closed, err := closedByServer(c, br); !closed {
			t.Errorf("connection %d over the cap of 4 was not closed (%v)", 5+i, err)
		}
	}
	select {
	case <-ts.entered:
		t.Fatal("a request over the connection cap reached the handler")
	default:
	}
	if n := ts.listener().open(); n != 4 {
		t.Errorf("%d connections open, want the cap, 4", n)
	}

	// A first connection from another address waits for a slot.
	other := clientFrom(t, "127.0.0.2")
	done := make(chan error, 1)
	go func() {
		resp, err := other.Get("http://" + ts.addr + "/metrics")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		done <- err
	}()
	waitFor(t, "the connection from 127.0.0.2 to wait", func() bool { return ts.listener().waiters() == 1 })
	if n := ts.listener().open(); n != 4 {
		t.Errorf("%d connections open, want the cap, 4", n)
	}

	ts.release()
	if err := <-done; err != nil {
		t.Fatalf("scrape from 127.0.0.2 once a slot freed: %v", err)
	}
	for i, b := range blockers {
		b.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(b.br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("blocked request %d: %v %v", i, resp, err)
		}
		io.Copy(io.Discard, resp.Body)
	}
	// The listener is full of idle keep-alive connections: a new one
	// makes room by closing one.
	waitFor(t, "4 idle connections", func() bool { return ts.listener().inState(http.StateIdle) == 4 })
	resp, err := clientFrom(t, "127.0.0.1").Get("http://" + ts.addr + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape with the listener full of idle connections: %v %v", resp, err)
	}
	resp.Body.Close()
	if n := ts.listener().open(); n > 4 {
		t.Errorf("%d connections open, over the cap of 4", n)
	}
}

// Idle keep-alive connections held by another client are closed to let a
// scrape in; the scraper's own keep-alive connection is not closed to make
// room for a client that already holds more.
func TestIdleConnectionsMakeRoom(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "", cappedLimits(4, 4))

	// Prometheus, from 127.0.0.2, scrapes once and keeps its connection.
	scrape := newScraper(t, ts.addr)
	// A client at 127.0.0.1 fills the listener with idle connections.
	var idle []net.Conn
	for range 3 {
		c := dialFrom(t, "127.0.0.1", ts.addr)
		mustRoundTrip(t, c, bufio.NewReader(c), "/-/healthy", "request")
		idle = append(idle, c)
	}
	waitFor(t, "4 idle connections", func() bool { return ts.listener().inState(http.StateIdle) == 4 })

	// More connections from 127.0.0.1 are let in by closing its own idle
	// ones, never Prometheus's, which holds fewer.
	for range 5 {
		c := dialFrom(t, "127.0.0.1", ts.addr)
		mustRoundTrip(t, c, bufio.NewReader(c), "/-/healthy", "request over the cap from 127.0.0.1")
		idle = append(idle, c)
		waitFor(t, "the connection to go idle", func() bool { return ts.listener().inState(http.StateIdle) == 4 })
	}
	scrape("Prometheus's keep-alive connection was closed for a greedier client")

	// A new client gets in by closing one of 127.0.0.1's idle connections.
	resp, err := clientFrom(t, "127.0.0.3").Get("http://" + ts.addr + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape from a new address with the listener full of idle connections: %v %v", resp, err)
	}
	resp.Body.Close()
	scrape("Prometheus's keep-alive connection was closed for a newcomer")
}

// Connections that hold a slot without being idle (here: no request sent
// yet) keep a greedy client from taking more than its address limit, and
// do not make the server close another client's keep-alive connection.
func TestPerAddressLimit(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "", cappedLimits(4, 2))

	scrape := newScraper(t, ts.addr)
	for range 2 {
		dialFrom(t, "127.0.0.1", ts.addr) // silent
	}
	waitFor(t, "3 connections", func() bool { return ts.listener().open() == 3 })
	c := dialFrom(t, "127.0.0.1", ts.addr)
	if closed, err := closedByServer(c, bufio.NewReader(c)); !closed {
		t.Fatalf("a third connection from 127.0.0.1 (limit 2 per address) was not closed (%v)", err)
	}
	// 127.0.0.3 takes the last slot; its second connection is turned away
	// rather than have Prometheus's keep-alive connection closed, which
	// would not let the listener serve more clients.
	dialFrom(t, "127.0.0.3", ts.addr) // silent
	waitFor(t, "4 connections", func() bool { return ts.listener().open() == 4 })
	c = dialFrom(t, "127.0.0.3", ts.addr)
	if closed, err := closedByServer(c, bufio.NewReader(c)); !closed {
		t.Fatalf("a second connection from 127.0.0.3 to a full listener was not closed (%v)", err)
	}
	scrape("scrape on Prometheus's keep-alive connection")
}

func TestAddrKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.7:9090":                  "192.0.2.7",
		"[::ffff:192.0.2.7]:9090":         "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:9090":     "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:443": "2001:db8:1:2::/64",
		"@":                               "@",
	} {
		if got := addrKeyString(in); got != want {
			t.Errorf("addrKeyString(%q) = %q, want %q", in, got, want)
		}
	}
	if got := addrKey(&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}); got != "2001:db8::/64" {
		t.Errorf("addrKey(TCPAddr) = %q", got)
	}
	if got := addrKey(&net.UnixAddr{Name: "@", Net: "unix"}); got != "@" {
		t.Errorf("addrKey(UnixAddr) = %q", got)
	}
}

// writeFile writes content to a file in dir and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.TrimLeft(content, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type recordHandler struct {
	mu    sync.Mutex
	lines []string
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	h.mu.Lock()
	h.lines = append(h.lines, line)
	h.mu.Unlock()
	return nil
}

func (h *recordHandler) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lines)
}

// Reaching a limit is logged at once, then summed up at most once per
// interval, nothing lost.
func TestPressureLog(t *testing.T) {
	t.Parallel()
	h := &recordHandler{}
	p := newPressure(slog.New(h))
	p.interval = 20 * time.Millisecond
	p.note("refused_connections")
	p.note("refused_connections")
	p.note("closed_idle_connections")
	if got := h.get(); len(got) != 1 || !strings.HasSuffix(got[0], " refused_connections=1") {
		t.Fatalf("first line: %q", got)
	}
	waitFor(t, "the summary line", func() bool { return len(h.get()) == 2 })
	if got := h.get()[1]; !strings.Contains(got, "refused_connections=1") || !strings.Contains(got, "closed_idle_connections=1") {
		t.Errorf("summary line: %q", got)
	}
}
