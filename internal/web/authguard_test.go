// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"
)

// webConfig writes a web config file with user prometheus, password
// "secret", hashed at cost, plus extra (TLS settings).
func webConfig(t testing.TB, cost int, extra string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), cost)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, t.TempDir(), "web.yml",
		fmt.Sprintf("basic_auth_users:\n  prometheus: '%s'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n%s", hash, extra))
}

type answer struct {
	code   int
	header http.Header
	err    error
	seq    int32 // order of arrival, when counted
}

func getAuth(c *http.Client, url, user, pass string) answer {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return answer{err: err}
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{err: err}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return answer{code: resp.StatusCode, header: resp.Header}
}

// Credentials not yet seen to succeed are checked one at a time, the
// waiting requests taking turns by client address, while credentials that
// succeeded before are served at once.
func TestPasswordChecksTakeTurns(t *testing.T) {
	t.Parallel()
	cfg := webConfig(t, bcrypt.MinCost, "")
	type check struct {
		pass    string
		release func()
	}
	checks := make(chan check, 10)
	var mu sync.Mutex
	var pending []func() // released at the end, should the test fail
	lim := testLimits()
	lim.authWait = time.Minute
	lim.compare = func(hash, pass []byte) error {
		if string(pass) != "secret" {
			done := make(chan struct{})
			release := sync.OnceFunc(func() { close(done) })
			mu.Lock()
			pending = append(pending, release)
			mu.Unlock()
			checks <- check{string(pass), release}
			<-done
		}
		return bcrypt.CompareHashAndPassword(hash, pass)
	}
	ts := startServer(t, cfg, lim)
	url := "http://" + ts.addr + "/metrics"
	c1, c2, c3 := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")
	nextCheck := func() check {
		t.Helper()
		select {
		case c := <-checks:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("no wrong password is being checked")
			return check{}
		}
	}

	if a := getAuth(c1, url, "prometheus", "secret"); a.code != 200 {
		t.Fatalf("right password: %d %v", a.code, a.err)
	}
	stuck := make(chan answer, 4)
	go func() { stuck <- getAuth(c1, url, "prometheus", "guess1") }()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, release := range pending {
			release()
		}
	})
	running := nextCheck()
	for i, req := range []struct {
		c          *http.Client
		user, pass string
	}{{c1, "prometheus", "guess2"}, {c1, "prometheus", "guess3"}, {c2, "prometheus", "guess4"}} {
		go func() { stuck <- getAuth(req.c, url, req.user, req.pass) }()
		waitFor(t, fmt.Sprintf("%d requests to wait for a password check", i+1), func() bool { return ts.srv.guard.checks.waiting() == i+1 })
	}
	// Known-good credentials skip the queue, from any address.
	for _, c := range []*http.Client{c1, c3} {
		if a := getAuth(c, url, "prometheus", "secret"); a.code != 200 {
			t.Errorf("right password while wrong ones wait for their check: %d %v", a.code, a.err)
		}
	}
	select {
	case a := <-stuck:
		t.Fatalf("a wrong password was answered (%d) before its check", a.code)
	default:
	}
	// 127.0.0.2 gets its turn before 127.0.0.1's third request.
	var order []string
	for range 3 {
		running.release()
		running = nextCheck()
		order = append(order, running.pass)
	}
	running.release()
	if want := []string{"guess2", "guess4", "guess3"}; !slices.Equal(order, want) {
		t.Errorf("checked in the order %v, want %v", order, want)
	}
	for range 4 {
		a := <-stuck
		if a.code != 401 || a.header.Get("WWW-Authenticate") != "Basic" || a.header.Get("X-Frame-Options") != "deny" {
			t.Errorf("wrong password: %d %v %v, want 401 with WWW-Authenticate and the configured headers", a.code, a.header, a.err)
		}
	}
	if a := getAuth(c1, url, "", ""); a.code != 401 || a.header.Get("WWW-Authenticate") != "Basic" {
		t.Errorf("no credentials: %d %v", a.code, a.err)
	}
}

// A request that waits too long for a password check gets 429.
func TestPasswordCheckWaitBounded(t *testing.T) {
	t.Parallel()
	cfg := webConfig(t, bcrypt.MinCost, "")
	entered, release := make(chan struct{}, 1), make(chan struct{})
	lim := testLimits()
	lim.authWait = 10 * time.Millisecond
	lim.compare = func(hash, pass []byte) error {
		if string(pass) == "guess1" {
			entered <- struct{}{}
			<-release
		}
		return bcrypt.CompareHashAndPassword(hash, pass)
	}
	ts := startServer(t, cfg, lim)
	url := "http://" + ts.addr + "/metrics"
	c := clientFrom(t, "127.0.0.1")
	stuck := make(chan answer, 1)
	go func() { stuck <- getAuth(c, url, "prometheus", "guess1") }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the wrong password is not being checked")
	}
	a := getAuth(c, url, "prometheus", "guess2")
	close(release)
	if a.code != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" || a.header.Get("X-Frame-Options") != "deny" {
		t.Errorf("request that found no check slot in time: %d %v %v, want 429 with Retry-After and the configured headers", a.code, a.header, a.err)
	}
	if a := <-stuck; a.code != 401 {
		t.Errorf("wrong password: %d %v", a.code, a.err)
	}
	if n := ts.srv.guard.checks.waiting(); n != 0 {
		t.Errorf("%d requests left waiting", n)
	}
	if a := getAuth(c, url, "prometheus", "secret"); a.code != 200 {
		t.Errorf("right password afterwards: %d %v", a.code, a.err)
	}
}

// A first login waits for at most one check per flooding address: with
// exporter-toolkit alone it waits for every wrong password sent before it.
func TestFirstLoginNotQueuedBehindWrongPasswords(t *testing.T) {
	t.Parallel()
	cfg := webConfig(t, bcrypt.MinCost, "")
	ts := startServer(t, cfg, testLimits())
	url := "http://" + ts.addr + "/metrics"
	attacker, prom := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.1")

	// Unknown users: their passwords are checked against a cost-10 hash,
	// much slower than prometheus's at the minimum cost, 4.
	var seq atomic.Int32
	flood := make(chan answer, 3)
	for i := range 3 {
		go func() {
			a := getAuth(attacker, url, "admin", fmt.Sprint("guess", i))
			a.seq = seq.Add(1)
			flood <- a
		}()
	}
	waitFor(t, "the wrong passwords to reach the server", func() bool {
		return len(flood)+ts.listener().inState(http.StateActive) >= 3
	})
	a := getAuth(prom, url, "prometheus", "secret")
	a.seq = seq.Add(1)
	if a.code != 200 {
		t.Fatalf("right password: %d %v", a.code, a.err)
	}
	before := 0
	for range 3 {
		if f := <-flood; f.code != http.StatusUnauthorized {
			t.Errorf("wrong password: %d %v", f.code, f.err)
		} else if f.seq < a.seq {
			before++
		}
	}
	// The check running when it arrived, and one turn of 127.0.0.2's.
	if before > 2 {
		t.Errorf("the first login was answered after %d wrong passwords from one other address, want at most 2", before)
	}
}

// TLS and basic auth keep working with the guard and the connection
// limits in between, and idle TLS connections (HTTP/2) make room too.
func TestTLSAuthAndIdleEviction(t *testing.T) {
	t.Parallel()
	certPEM, keyPEM := selfSigned(t)
	dir := t.TempDir()
	certFile, keyFile := writeFile(t, dir, "cert.pem", string(certPEM)), writeFile(t, dir, "key.pem", string(keyPEM))
	cfg := webConfig(t, bcrypt.MinCost, fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile))
	ts := startServer(t, cfg, cappedLimits(2, 2))
	url := "https://" + ts.addr + "/metrics"
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := func() *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}

	c1 := client()
	if a := getAuth(c1, url, "", ""); a.code != 401 || a.header.Get("X-Frame-Options") != "deny" {
		t.Errorf("no credentials: %d %v", a.code, a.err)
	}
	if a := getAuth(c1, url, "prometheus", "wrong"); a.code != 401 || a.header.Get("WWW-Authenticate") != "Basic" {
		t.Errorf("wrong password: %d %v", a.code, a.err)
	}
	resp, err := c1.Do(authReq(t, url))
	if err != nil || resp.StatusCode != 200 || resp.TLS == nil || resp.ProtoMajor != 2 {
		t.Fatalf("right password over TLS: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if a := getAuth(client(), url, "prometheus", "secret"); a.code != 200 {
		t.Fatalf("second connection: %d %v", a.code, a.err)
	}
	waitFor(t, "2 idle connections", func() bool { return ts.listener().inState(http.StateIdle) == 2 })
	if a := getAuth(client(), url, "prometheus", "secret"); a.code != 200 {
		t.Fatalf("third connection, the listener full of idle TLS connections: %d %v", a.code, a.err)
	}
	if n := ts.listener().open(); n > 2 {
		t.Errorf("%d connections open, over the cap of 2", n)
	}
}

func authReq(t *testing.T, url string) *http.Request {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("prometheus", "secret")
	return req
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailwatchd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// floodServer serves on 127.0.0.1 with the web config cfg (the guard on or
// off) while 8 clients from 127.0.0.2 (127.0.0.1 where that cannot be
// used) send random wrong passwords for prometheus as fast as they are
// answered. It returns the /metrics URL, and a function that stops the
// flood and the server and returns the flood's requests per second.
func floodServer(b *testing.B, cfg string, guard bool) (string, func() float64) {
	lim := defaultLimits()
	lim.noAuthGuard = !guard
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "mailwatch_test", Help: "Test."}))
	s := serve([]net.Listener{l}, NewHandler(Options{Gatherer: reg, Logger: zap.NewNop()}), cfg, slog.New(slog.DiscardHandler), lim)
	url := "http://" + l.Addr().String() + "/metrics"
	src := "127.0.0.2"
	if l, err := net.Listen("tcp", src+":0"); err != nil {
		src = "127.0.0.1"
	} else {
		l.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var flooded atomic.Int64
	start := time.Now()
	for i := range 8 {
		c := benchClient(src)
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
				req.SetBasicAuth("prometheus", fmt.Sprintf("guess-%d-%d", i, n))
				if resp, err := c.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					flooded.Add(1)
				}
			}
		})
	}
	return url, func() float64 {
		rate := float64(flooded.Load()) / time.Since(start).Seconds()
		cancel()
		wg.Wait()
		s.Shutdown(context.Background())
		return rate
	}
}

func reportLatencies(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

func guardOrNot(b *testing.B, f func(b *testing.B, guard bool)) {
	b.Run("guard", func(b *testing.B) { f(b, true) })
	b.Run("toolkit-only", func(b *testing.B) { f(b, false) })
}

// BenchmarkScrapeDuringWrongPasswordFlood measures authorised scrapes, with
// credentials that succeeded before, during a flood of wrong passwords
// checked against a cost-10 hash: with the guard, and with exporter-toolkit
// alone. exporter-toolkit alone is slow only once the flood has pushed
// the good credentials out of its 100-entry cache, which takes minutes of
// flooding to be likely (about 13 wrong passwords are checked a second).
func BenchmarkScrapeDuringWrongPasswordFlood(b *testing.B) {
	cfg := webConfig(b, bcrypt.DefaultCost, "")
	guardOrNot(b, func(b *testing.B, guard bool) {
		url, stop := floodServer(b, cfg, guard)
		prom := benchClient("127.0.0.1")
		if a := getAuth(prom, url, "prometheus", "secret"); a.code != 200 {
			b.Fatalf("right password: %d %v", a.code, a.err)
		}
		var lat []time.Duration
		for b.Loop() {
			t0 := time.Now()
			if a := getAuth(prom, url, "prometheus", "secret"); a.code != 200 {
				b.Fatalf("right password during the flood: %d %v", a.code, a.err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.ReportMetric(stop(), "flood-req/s")
		reportLatencies(b, lat)
	})
}

// BenchmarkFirstLoginDuringWrongPasswordFlood measures the first scrape
// of a Prometheus server (after it or mailwatchd restarted) while a flood
// of wrong passwords from another address is going on: with
// exporter-toolkit alone it waits for the checks of the flood's requests
// in flight, with the guard for one at most. Each iteration starts a new
// server; run it with -benchtime=10x.
func BenchmarkFirstLoginDuringWrongPasswordFlood(b *testing.B) {
	cfg := webConfig(b, bcrypt.DefaultCost, "")
	guardOrNot(b, func(b *testing.B, guard bool) {
		var lat []time.Duration
		for b.Loop() {
			b.StopTimer()
			url, stop := floodServer(b, cfg, guard)
			time.Sleep(200 * time.Millisecond) // the flood is under way
			prom := benchClient("127.0.0.1")
			b.StartTimer()
			t0 := time.Now()
			a := getAuth(prom, url, "prometheus", "secret")
			lat = append(lat, time.Since(t0))
			b.StopTimer()
			stop()
			if a.code != 200 {
				b.Fatalf("right password during the flood: %d %v", a.code, a.err)
			}
			b.StartTimer()
		}
		reportLatencies(b, lat)
	})
}

func benchClient(src string) *http.Client {
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).DialContext}
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// Several listeners each get their own http.Server: exporter-toolkit
// replaces a server's Handler in web.Serve, which raced (and could stack
// its auth twice) when the listeners shared one server.
func TestSeveralListeners(t *testing.T) {
	t.Parallel()
	cfg := webConfig(t, bcrypt.MinCost, "")
	var ls []net.Listener
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	reg := prometheus.NewRegistry()
	s := serve(ls, NewHandler(Options{Gatherer: reg, Logger: zap.NewNop()}), cfg, slog.New(slog.DiscardHandler), testLimits())
	defer s.Shutdown(context.Background())
	c := clientFrom(t, "127.0.0.1")
	for _, l := range ls {
		url := "http://" + l.Addr().String() + "/metrics"
		if a := getAuth(c, url, "prometheus", "secret"); a.code != 200 {
			t.Errorf("%s, right password: %d %v", url, a.code, a.err)
		}
		if a := getAuth(c, url, "prometheus", "wrong"); a.code != 401 {
			t.Errorf("%s, wrong password: %d %v", url, a.code, a.err)
		}
	}
}
