// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// pki is a root, an intermediate and leaves issued by the intermediate,
// the shape of a Let's Encrypt chain.
type pki struct {
	root, inter *testCA
	long, short leaf
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	root := newCA(t, "Test Root", nil)
	inter := newCA(t, "Test Intermediate", root)
	return &pki{
		root: root, inter: inter,
		long:  issue(t, inter, day(2029, 1, 1), day(2032, 1, 1), inter),
		short: issue(t, inter, day(2030, 5, 25), day(2030, 6, 8), inter),
	}
}

// TestGoldenSuccess: every protocol, files from a glob, a Postfix chain
// file with its key, and discovery, all healthy.
func TestGoldenSuccess(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := t.TempDir()
	writeFile(t, dir+"/live/mail.test/fullchain.pem", p.long.fullchain())
	writeFile(t, dir+"/live/other.test/fullchain.pem", p.short.fullchain())
	writeFile(t, dir+"/postfix/chain.pem", append(keyPEM(t, p.long.key), p.long.fullchain()...))
	writeFile(t, dir+"/dovecot/imap.pem", p.short.fullchain())
	writeFile(t, dir+"/ca.pem", p.root.pem)
	writeFile(t, dir+"/postconf", nil) // never run: the runner is fake
	writeFile(t, dir+"/dovecot/dovecot.conf", []byte("# main\n!include conf.d/*.conf\n!include_try local.conf\n"))
	writeFile(t, dir+"/dovecot/conf.d/10-ssl.conf", []byte("ssl = yes\nssl_cert = </etc/dovecot/private/dovecot.pem\nssl_key = </etc/dovecot/private/dovecot.key\n"))
	writeFile(t, dir+"/dovecot/conf.d/20-imap.conf", []byte("local_name imap.test {\n  ssl_cert = <"+dir+"/dovecot/imap.pem\n}\n"))
	writeFile(t, dir+"/dovecot/local.conf", []byte("ssl_cert = <"+dir+"/live/mail.test/fullchain.pem # renewed by certbot\n"))

	dials := map[string]string{}
	servers := map[string]*mailServer{}
	var eps []Endpoint
	for _, tc := range []struct{ proto, port string }{
		{"smtp", "25"}, {"smtp", "587"}, {"smtps", "465"}, {"imap", "143"}, {"imaps", "993"},
		{"pop3", "110"}, {"pop3s", "995"}, {"sieve", "4190"},
	} {
		s := startServer(t, tc.proto, modeOK, p.long)
		dials["mail.test:"+tc.port] = s.addr()
		target := tc.proto + "://mail.test:" + tc.port
		servers[target] = s
		eps = append(eps, Endpoint{Target: target, ExpectFile: dir + "/live/mail.test/fullchain.pem"})
	}
	yes := true
	c := newTestCollector(t, Config{
		Files:     []string{dir + "/live/*/fullchain.pem", dir + "/postfix/chain.pem"},
		CAFile:    dir + "/ca.pem",
		EHLOName:  "probe.test",
		Endpoints: eps,
		Discover:  Discover{Postfix: &yes, Postconf: dir + "/postconf", Dovecot: &yes, DovecotConfig: dir + "/dovecot/dovecot.conf"},
	}, mapDial(dials))
	c.run = func(_ context.Context, name string, args ...string) ([]byte, error) {
		if slices.Contains(args, "-P") {
			return []byte("submission/inet/syslog_name = postfix/submission\nsubmission/inet/smtpd_tls_chain_files = " + dir + "/postfix/chain.pem\n"), nil
		}
		return []byte("smtpd_tls_cert_file = " + dir + "/live/mail.test/fullchain.pem\nsmtpd_tls_eccert_file =\nsmtpd_tls_dcert_file =\nsmtpd_tls_chain_files =\n"), nil
	}
	if err := collectortest.GoldenDir(t, c, "success", dir); err != nil {
		t.Errorf("healthy run returned %v", err)
	}
	collectortest.Lint(t, c)

	// The dialogues were followed to the end, goodbye included.
	want := map[string][]string{
		"smtp://mail.test:25":    {"EHLO probe.test", "STARTTLS", "QUIT"},
		"smtps://mail.test:465":  {"QUIT"},
		"imap://mail.test:143":   {"a1 STARTTLS", "a2 LOGOUT"},
		"imaps://mail.test:993":  {"a2 LOGOUT"},
		"pop3://mail.test:110":   {"STLS", "QUIT"},
		"pop3s://mail.test:995":  {"QUIT"},
		"sieve://mail.test:4190": {"STARTTLS", "LOGOUT"},
	}
	for target, lines := range want {
		got := servers[target].received()
		// Lint and golden each ran the collector once or more; compare the first session.
		if len(got) < len(lines) {
			t.Errorf("%s: server got %q, want %q", target, got, lines)
			continue
		}
		if diff := cmp.Diff(lines, got[:len(lines)]); diff != "" {
			t.Errorf("%s: client lines (-want +got):\n%s", target, diff)
		}
	}
}

// TestGoldenPartial: each bad input and fault is a failure of its own
// target, and the others are still reported.
func TestGoldenPartial(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := t.TempDir()
	expired := issue(t, p.inter, day(2029, 1, 1), day(2030, 3, 1), p.inter)
	future := issue(t, p.inter, day(2030, 7, 1), day(2031, 7, 1), p.inter)
	self := issue(t, nil, day(2030, 1, 1), day(2031, 1, 1))
	renewed := issue(t, p.inter, day(2030, 5, 1), day(2030, 8, 1), p.inter)
	writeFile(t, dir+"/ca.pem", p.root.pem)
	files := []string{
		dir + "/missing.pem",
		writeFile(t, dir+"/empty.pem", nil),
		writeFile(t, dir+"/key-only.pem", keyPEM(t, p.long.key)),
		writeFile(t, dir+"/not-pem.pem", []byte("hello, this is no certificate\n")),
		writeFile(t, dir+"/broken.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")),
		writeFile(t, dir+"/expired.pem", expired.fullchain()),
		writeFile(t, dir+"/future.pem", future.fullchain()),
		writeFile(t, dir+"/self-signed.pem", self.fullchain()),
		writeFile(t, dir+"/no-chain.pem", certPEM(p.long.cert)),
		writeFile(t, dir+"/renewed.pem", renewed.fullchain()),
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()

	dials := map[string]string{"mail.test:993": refused}
	var eps []Endpoint
	add := func(target, mode string, l leaf, sn, expect string) {
		proto, hostport, _ := strings.Cut(target, "://")
		dials[hostport] = startServer(t, proto, mode, l).addr()
		eps = append(eps, Endpoint{Target: target, ServerName: sn, ExpectFile: expect})
	}
	add("smtp://mail.test:25", modeOK, p.long, "", dir+"/renewed.pem")   // renewed, not reloaded
	add("smtp://mail.test:587", modeOK, p.long, "other.test", "")        // wrong host name
	add("smtp://mail.test:26", modeOK, self, "", "")                     // self-signed
	add("smtp://mail.test:27", modeInject, p.long, "", "")               // injection after STARTTLS
	add("smtp://mail.test:2525", modeReset, p.long, "", "")              // reset in the handshake
	add("smtps://mail.test:465", modeSilent, p.long, "", "")             // accepts, never speaks
	add("imap://mail.test:143", modeOK, renewed, "", dir+"/renewed.pem") // reloaded: matches
	add("pop3://mail.test:110", modeNoSTARTTLS, p.long, "", "")          // refuses STLS
	add("pop3s://mail.test:995", modeGarbage, p.long, "", "")            // speaks HTTP
	add("sieve://mail.test:4190", modeNoSTARTTLS, p.long, "", "")        // no STARTTLS capability
	add("imap://mail.test:144", modeOK, expired, "", dir+"/missing.pem") // expired; expect_file missing
	eps = append(eps, Endpoint{Target: "imaps://mail.test:993"})         // connection refused
	c := newTestCollector(t, Config{Files: files, CAFile: dir + "/ca.pem", Endpoints: eps,
		EndpointTimeout: confval.Duration(2 * time.Second)}, mapDial(dials))
	if err := collectortest.GoldenDir(t, c, "partial", dir); err != nil {
		t.Errorf("partial run returned %v, want nil", err)
	}
}

// TestGoldenTotalFailure: nothing readable is an error, not "not applicable".
func TestGoldenTotalFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()
	c := newTestCollector(t, Config{
		Files:     []string{dir + "/fullchain.pem", writeFile(t, dir+"/file/x", nil) + "/*/fullchain.pem"},
		Endpoints: []Endpoint{{Target: "smtps://mail.test:465"}},
	}, mapDial(map[string]string{"mail.test:465": refused}))
	err = collectortest.GoldenDir(t, c, "total_failure", dir)
	if err == nil || errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("total failure returned %v, want a plain error", err)
	}
}

// TestNotApplicable: no certbot, no Postfix, no Dovecot, no endpoint: a
// quiet "not applicable" with no series and no log line of our own.
func TestNotApplicable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	core, logs := observer.New(zap.DebugLevel)
	yes := true
	cfg := Config{
		Files:    []string{dir + "/letsencrypt/live/*/fullchain.pem"},
		Discover: Discover{Postfix: &yes, Postconf: dir + "/postconf", Dovecot: &yes, DovecotConfig: dir + "/dovecot.conf"},
	}
	c := newTestCollector(t, cfg, nil)
	c.logger = zap.New(core)
	c.run = func(context.Context, string, ...string) ([]byte, error) {
		t.Error("postconf run though absent")
		return nil, nil
	}
	for range 2 {
		got, err := collectortest.Run(context.Background(), c)
		if !errors.Is(err, collectors.ErrNotApplicable) {
			t.Errorf("got %v, want ErrNotApplicable", err)
		}
		if len(got) != 0 {
			t.Errorf("got series %v, want none", got)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("logged %v, want nothing", logs.All())
	}
}

// TestSymlinkSwap: certbot renews by pointing live/ at new archive files;
// the file is read afresh each run.
func TestSymlinkSwap(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := t.TempDir()
	writeFile(t, dir+"/archive/fullchain1.pem", p.short.fullchain())
	writeFile(t, dir+"/archive/fullchain2.pem", p.long.fullchain())
	if err := os.MkdirAll(dir+"/live", 0o755); err != nil {
		t.Fatal(err)
	}
	link := dir + "/live/fullchain.pem"
	symlinkSwap(t, "../archive/fullchain1.pem", link)
	c := newTestCollector(t, Config{Files: []string{link}}, nil)
	key := `mailwatch_cert_not_after_timestamp_seconds{target="` + link + `"}`
	for _, want := range []leaf{p.short, p.long} {
		if want.cert == p.long.cert {
			symlinkSwap(t, "../archive/fullchain2.pem", link)
		}
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if got[key] != float64(want.cert.NotAfter.Unix()) {
			t.Errorf("not_after %v, want %v", got[key], want.cert.NotAfter.Unix())
		}
	}
}

// TestRenewedButNotReloaded: the outage this collector exists for. The
// file is renewed, the server still serves the old leaf until reloaded.
func TestRenewedButNotReloaded(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := t.TempDir()
	writeFile(t, dir+"/archive/fullchain1.pem", p.short.fullchain())
	writeFile(t, dir+"/archive/fullchain2.pem", p.long.fullchain())
	link := dir + "/fullchain.pem"
	symlinkSwap(t, "archive/fullchain1.pem", link)
	s := startServer(t, "imap", modeOK, p.short)
	target := "imap://" + s.addr() // the real dial path, no mapping
	c := newTestCollector(t, Config{Endpoints: []Endpoint{{Target: target, ServerName: "mail.test", ExpectFile: link}}}, nil)
	key := `mailwatch_cert_endpoint_matches_file{target="` + target + `"}`
	steps := []struct {
		name string
		act  func()
		want float64
	}{
		{"as deployed", func() {}, 1},
		{"renewed", func() { symlinkSwap(t, "archive/fullchain2.pem", link) }, 0},
		{"reloaded", func() { s.cert.Store(p.long.tls()) }, 1},
	}
	for _, st := range steps {
		st.act()
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := got[key]; !ok || v != st.want {
			t.Errorf("%s: matches_file = %v (present %v), want %v; all: %v", st.name, v, ok, st.want, got)
		}
	}
}

// TestUpdateReturnsWhenCtxDone: an endpoint that accepts and never speaks,
// with an endpoint timeout far away, must not hold Update past its ctx.
func TestUpdateReturnsWhenCtxDone(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	s := startServer(t, "smtp", modeSilent, p.long)
	target := "smtp://" + s.addr()
	c := newTestCollector(t, Config{Endpoints: []Endpoint{{Target: target}}, EndpointTimeout: confval.Duration(time.Hour)}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		got map[string]float64
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := collectortest.Run(ctx, c)
		done <- result{got, err}
	}()
	<-s.accepted // the collector is now blocked reading the greeting
	cancel()
	select {
	case r := <-done:
		if r.err == nil {
			t.Error("cancelled run with its only target failed returned nil")
		}
		if v, ok := r.got[`mailwatch_cert_check_success{target="`+target+`"}`]; !ok || v != 0 {
			t.Errorf("check_success = %v (present %v), want 0", v, ok)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Update did not return after its context was cancelled")
	}
}

// TestProtocolFaults checks the reason each fault is reported with.
func TestProtocolFaults(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	tests := []struct {
		proto, mode, want string
	}{
		{"smtp", modeNoSTARTTLS, "server does not offer STARTTLS"},
		{"smtp", modeInject, "bytes after its STARTTLS answer"},
		{"smtp", modeGarbage, "malformed SMTP reply"},
		{"smtp", modeReset, "tls handshake"},
		{"imap", modeNoSTARTTLS, "STARTTLS answered BAD"},
		{"imap", modeGarbage, "malformed IMAP greeting"},
		{"pop3", modeNoSTARTTLS, `STLS answered "-ERR Unknown command."`},
		{"pop3", modeGarbage, "malformed POP3 response"},
		{"sieve", modeNoSTARTTLS, "server does not offer STARTTLS"},
		{"sieve", modeGarbage, "malformed ManageSieve response"},
		{"imaps", modeGarbage, "tls handshake"},
		{"pop3s", modeReset, "tls handshake"},
	}
	for _, tc := range tests {
		t.Run(tc.proto+"/"+tc.mode, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, tc.proto, tc.mode, p.long)
			ep, err := newEndpoint(Endpoint{Target: tc.proto + "://" + s.addr()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = probe(ctx, (&net.Dialer{}).DialContext, ep, &probeParams{ehlo: "probe.test"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestLogsOncePerChange: a failing target logs when it starts failing and
// when it recovers, not every run, even though each connection has a new
// local port.
func TestLogsOncePerChange(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	s := startServer(t, "smtp", modeReset, p.long)
	target := "smtp://" + s.addr()
	core, logs := observer.New(zap.InfoLevel)
	c := newTestCollector(t, Config{Endpoints: []Endpoint{{Target: target, ServerName: "mail.test"}}}, nil)
	c.logger = zap.New(core)
	for range 3 {
		if _, err := collectortest.Run(context.Background(), c); err == nil {
			t.Fatal("want the run to fail")
		}
	}
	if n := logs.FilterMessage("certificate endpoint check failed").Len(); n != 1 {
		t.Errorf("failure logged %d times over 3 runs, want 1: %v", n, logs.All())
	}
	s.mode.Store(modeOK)
	if _, err := collectortest.Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if n := logs.FilterMessage("certificate endpoint check succeeds again").Len(); n != 1 {
		t.Errorf("recovery logged %d times, want 1", n)
	}
}

func TestMaxFiles(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := t.TempDir()
	for i := range 5 {
		writeFile(t, fmt.Sprintf("%s/live/d%d/fullchain.pem", dir, i), p.long.fullchain())
	}
	core, logs := observer.New(zap.InfoLevel)
	c := newTestCollector(t, Config{Files: []string{dir + "/live/*/fullchain.pem"}, MaxFiles: 3}, nil)
	c.logger = zap.New(core)
	for range 2 {
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for k := range got {
			if strings.HasPrefix(k, "mailwatch_cert_check_success") {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%d file targets, want max_files=3", n)
		}
	}
	if n := logs.FilterMessage("more certificate files than max_files, the rest are not checked").Len(); n != 1 {
		t.Errorf("cap logged %d times, want once", n)
	}
}

func TestGlobUnreadableDirectory(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads every directory")
	}
	dir := t.TempDir()
	if err := os.Mkdir(dir+"/live", 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir+"/live", 0o755) })
	_, err := expandGlob(dir + "/live/*/fullchain.pem")
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("got %v, want a permission error", err)
	}
}

func TestExpandGlob(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir+"/live/b/fullchain.pem", nil)
	writeFile(t, dir+"/live/a/fullchain.pem", nil)
	writeFile(t, dir+"/file", nil)
	tests := []struct {
		pattern string
		want    []string
		err     bool
	}{
		{dir + "/live/*/fullchain.pem", []string{dir + "/live/a/fullchain.pem", dir + "/live/b/fullchain.pem"}, false},
		{dir + "/none/*/fullchain.pem", nil, false},
		{dir + "/live/*/privkey.pem", nil, false},
		{dir + "/file/*/fullchain.pem", nil, true},
	}
	for _, tc := range tests {
		got, err := expandGlob(tc.pattern)
		if (err != nil) != tc.err {
			t.Errorf("%s: err %v, want error %v", tc.pattern, err, tc.err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.pattern, diff)
		}
	}
	if got := staticDir("/etc/letsencrypt/live/*/fullchain.pem"); got != "/etc/letsencrypt/live" {
		t.Errorf("staticDir = %q", got)
	}
	if got := staticDir("/a/b*/c/*.pem"); got != "/a" {
		t.Errorf("staticDir = %q", got)
	}
}

func TestParseBundle(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	key := keyPEM(t, p.long.key)
	tests := []struct {
		name    string
		data    []byte
		leaf    *leaf
		n       int
		wantErr string
	}{
		{"fullchain", p.long.fullchain(), &p.long, 2, ""},
		{"key first (postfix chain file)", append(append([]byte{}, key...), p.long.fullchain()...), &p.long, 2, ""},
		{"key last", append(p.long.fullchain(), key...), &p.long, 2, ""},
		{"text around blocks", append([]byte("subject=CN = mail.test\n"), p.long.fullchain()...), &p.long, 2, ""},
		{"empty", nil, nil, 0, "empty file"},
		{"blank", []byte(" \n\n"), nil, 0, "empty file"},
		{"key only", key, nil, 0, `only "PRIVATE KEY"`},
		{"not pem", []byte("not a certificate"), nil, 0, "no PEM data"},
		{"der", p.long.cert.Raw, nil, 0, "no PEM data"},
		{"broken certificate", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), nil, 0, "certificate 1:"},
	}
	for _, tc := range tests {
		chain, err := parseBundle(tc.data)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: got %v, want error with %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(chain) != tc.n || !chain[0].Equal(tc.leaf.cert) {
			t.Errorf("%s: got %d certificates, leaf %v", tc.name, len(chain), chain[0].Subject)
		}
	}
}

func TestReadBundleRejectsNonRegular(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := readBundle(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: got %v", err)
	}
	big := writeFile(t, dir+"/big.pem", make([]byte, maxPEMSize+1))
	if _, err := readBundle(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: got %v", err)
	}
	if _, err := readBundle(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
}

func TestTLSVersion(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	s := startServer(t, "smtps", modeOK, p.long)
	ep, err := newEndpoint(Endpoint{Target: "smtps://" + s.addr()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := probe(context.Background(), (&net.Dialer{}).DialContext, ep, &probeParams{ehlo: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if v := tlsVersion(got.version); v != "1.3" {
		t.Errorf("version %q, want 1.3 (Go's server default)", v)
	}
	if tlsVersion(0x0300) != "other" {
		t.Error("SSL 3.0 is not in the enum")
	}
}

// TestVerifyFailureLoggedOnce: x509's message for an expired certificate
// carries the current time, so it differs every run.
func TestVerifyFailureLoggedOnce(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := t.TempDir()
	expired := issue(t, p.inter, day(2020, 1, 1), day(2021, 1, 1), p.inter)
	f := writeFile(t, dir+"/expired.pem", expired.fullchain())
	writeFile(t, dir+"/ca.pem", p.root.pem)
	core, logs := observer.New(zap.InfoLevel)
	c := newTestCollector(t, Config{Files: []string{f}, CAFile: dir + "/ca.pem"}, nil)
	c.logger = zap.New(core)
	clock := testNow
	c.now = func() time.Time { clock = clock.Add(time.Hour); return clock }
	for range 3 {
		if _, err := collectortest.Run(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if n := logs.FilterMessage("certificate does not verify").Len(); n != 1 {
		t.Errorf("logged %d times, want 1: %v", n, logs.All())
	}
}
