// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMTPSServer is a minimal SMTP server with implicit TLS (like Postfix's port 465) on a free
// loopback port. It loads its certificate once at start and never again, like a daemon nobody
// reloaded after the certificate file was renewed.
type SMTPSServer struct {
	Addr   string // 127.0.0.1:PORT
	Target string // smtps://127.0.0.1:PORT, the certs collector's endpoint target

	ln net.Listener
	wg sync.WaitGroup
}

// StartSMTPS serves the certificate and key files as name until the test ends.
func StartSMTPS(t testing.TB, certFile, keyFile, name string) *SMTPSServer {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPSServer{Addr: ln.Addr().String(), Target: "smtps://" + ln.Addr().String(), ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				serveSMTP(c, name)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// serveSMTP speaks just enough SMTP (RFC 5321) for a client that greets and quits.
func serveSMTP(c net.Conn, name string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	w := bufio.NewWriter(c)
	reply := func(s string) bool {
		w.WriteString(s + "\r\n")
		return w.Flush() == nil
	}
	if !reply("220 " + name + " ESMTP mailwatchd-e2e") {
		return
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.TrimSpace(line))
		if i := strings.IndexByte(verb, ' '); i >= 0 {
			verb = verb[:i]
		}
		switch verb {
		case "EHLO", "HELO":
			reply("250 " + name)
		case "NOOP", "RSET":
			reply("250 2.0.0 OK")
		case "QUIT":
			reply("221 2.0.0 Bye")
			return
		default:
			reply("502 5.5.2 Command not implemented")
		}
	}
}
