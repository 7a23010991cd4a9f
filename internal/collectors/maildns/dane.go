// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/smtp"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DANE for SMTP (RFC 7672): a sending MTA that validates DANE looks up
// _25._tcp.<mx> TLSA records and accepts the MX's certificate only if one
// usable record matches it. Usable for SMTP are DANE-TA(2) and DANE-EE(3);
// PKIX-TA(0) and PKIX-EE(1) are treated as unusable (RFC 7672 section 3.1.3).
const (
	tlsaUsageDANETA = 2
	tlsaUsageDANEEE = 3
)

// maxSMTPRead bounds what the STARTTLS dialogue and handshake may read: a
// server that never stops talking fails the check instead of filling
// memory. A certificate chain is a few kilobytes.
const maxSMTPRead = 256 << 10

// maxTLSA bounds the records examined at one name.
const maxTLSA = 32

// Certificate label values of the DANE metrics.
const (
	daneServed = "served"
	daneFile   = "file"
)

// tlsa is one TLSA record's usable part.
type tlsa struct {
	usage, selector, matching uint8
	data                      []byte
}

// daneResult is what was measured for one MX name.
type daneResult struct {
	queryOK bool   // the TLSA query was answered
	records int    // usable TLSA records
	why     string // for the log: the first problem, "" when all is well
	// per certificate (served, file): read, and matched by a usable record
	read, match map[string]bool
}

// daneSpec is one configured MX name.
type daneSpec struct {
	mx       string
	address  string // host:port; "" means the MX name's first address, port 25
	certFile string // "" when only the served certificate is checked
	ehlo     string
	timeout  time.Duration // the SMTP dialogue's, within the run's
}

// smtpTimeout bounds one SMTP dialogue: a hung MX fails its own check and
// leaves the rest of the run time to the other checks.
const smtpTimeout = 20 * time.Second

// daneCheck looks up the TLSA records of the MX and compares them with the
// certificate it serves on port 25 (STARTTLS) and with its certificate file.
func (c checker) daneCheck(ctx context.Context, s daneSpec, served *servedCerts) daneResult {
	r := daneResult{read: map[string]bool{}, match: map[string]bool{}}
	name := "_25._tcp." + s.mx
	var recs []tlsa
	resp, failed := c.query(ctx, name, dns.TypeTLSA)
	if failed != "" {
		r.why = "query " + name + " TLSA: " + failed
	} else {
		r.queryOK = true
		for _, rr := range resp.Answer {
			if t, ok := rr.(*dns.TLSA); ok && (t.Usage == tlsaUsageDANETA || t.Usage == tlsaUsageDANEEE) && len(recs) < maxTLSA {
				data, err := hex.DecodeString(t.Certificate)
				if err == nil {
					recs = append(recs, tlsa{usage: t.Usage, selector: t.Selector, matching: t.MatchingType, data: data})
				}
			}
		}
		r.records = len(recs)
		if len(recs) == 0 {
			r.why = name + " has no usable TLSA record (DANE-TA 2 or DANE-EE 3)"
		}
	}
	chains := map[string][]*x509.Certificate{}
	chain, err := served.chain(ctx, s.mx)
	if err != nil {
		r.why = cmpOr(r.why, "served certificate: "+err.Error())
	} else {
		chains[daneServed] = chain
	}
	if s.certFile != "" {
		file, err := readChain(s.certFile)
		if err != nil {
			r.why = cmpOr(r.why, "certificate file: "+err.Error())
		} else {
			chains[daneFile] = file
		}
	}
	for _, which := range []string{daneServed, daneFile} {
		chain, ok := chains[which]
		r.read[which] = ok
		r.match[which] = ok && tlsaMatches(recs, chain)
		if ok && len(recs) > 0 && !r.match[which] {
			r.why = cmpOr(r.why, fmt.Sprintf("no TLSA record of %s matches the %s certificate (a new key without a new TLSA record?)", name, which))
		}
	}
	return r
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// tlsaMatches: a record matches the chain. DANE-EE(3) is compared with the
// leaf only; DANE-TA(2) with the certificates above the leaf, which the
// server must send (RFC 7671 section 5.2.2: the TA is in the chain). The
// chain's signatures up to that TA are not verified here.
func tlsaMatches(recs []tlsa, chain []*x509.Certificate) bool {
	for _, rec := range recs {
		certs := chain[:1]
		if rec.usage == tlsaUsageDANETA {
			certs = chain[1:]
		}
		for _, cert := range certs {
			if tlsaMatch(rec, cert) {
				return true
			}
		}
	}
	return false
}

// tlsaMatch is RFC 6698 section 2.1: selector 0 is the whole certificate
// (DER), 1 its SubjectPublicKeyInfo; matching type 0 is the data itself, 1
// its SHA-256, 2 its SHA-512.
func tlsaMatch(rec tlsa, cert *x509.Certificate) bool {
	var data []byte
	switch rec.selector {
	case 0:
		data = cert.Raw
	case 1:
		data = cert.RawSubjectPublicKeyInfo
	default:
		return false
	}
	switch rec.matching {
	case 0:
	case 1:
		sum := sha256.Sum256(data)
		data = sum[:]
	case 2:
		sum := sha512.Sum512(data)
		data = sum[:]
	default:
		return false
	}
	return subtle.ConstantTimeCompare(data, rec.data) == 1
}

// readChain reads a PEM bundle (certbot's fullchain.pem: leaf first).
func readChain(path string) ([]*x509.Certificate, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile))
	if err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		chain = append(chain, cert)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return chain, nil
}

// servedChain connects to the MX, says EHLO, STARTTLS (RFC 3207) and
// returns the chain of the handshake. The address of the MX name comes from
// the collector's resolver, never the system's.
func (c checker) servedChain(ctx context.Context, s daneSpec, dial func(ctx context.Context, network, addr string) (net.Conn, error)) ([]*x509.Certificate, error) {
	addr := s.address
	if addr == "" {
		a, err := c.firstAddr(ctx, s.mx)
		if err != nil {
			return nil, err
		}
		addr = net.JoinHostPort(a.String(), "25")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	lc := &limitedConn{Conn: conn, left: maxSMTPRead}
	cl, err := smtp.NewClient(lc, s.mx)
	if err != nil {
		return nil, fmt.Errorf("SMTP greeting from %s: %w", addr, err)
	}
	if err := cl.Hello(s.ehlo); err != nil {
		return nil, fmt.Errorf("EHLO to %s: %w", addr, err)
	}
	if ok, _ := cl.Extension("STARTTLS"); !ok {
		return nil, fmt.Errorf("%w: %s does not offer STARTTLS", errNoSTARTTLS, addr)
	}
	// Not verified against the Web PKI: DANE-EE needs no CA, and the match
	// with the TLSA records is the verification here.
	if err := cl.StartTLS(&tls.Config{ServerName: s.mx, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}); err != nil {
		// A server that stops answering is unreachable; one that answers
		// STARTTLS and then fails the handshake (a refusal, no common
		// version or cipher) cannot take mail over TLS.
		var ne net.Error
		if ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("STARTTLS with %s: %w", addr, err)
		}
		return nil, fmt.Errorf("%w: STARTTLS with %s: %w", errHandshake, addr, err)
	}
	st, _ := cl.TLSConnectionState()
	_ = cl.Quit()
	if len(st.PeerCertificates) == 0 {
		return nil, fmt.Errorf("%s sent no certificate", addr)
	}
	return st.PeerCertificates, nil
}

// firstAddr resolves a host name with the collector's resolver, IPv4 first.
func (c checker) firstAddr(ctx context.Context, host string) (netip.Addr, error) {
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		resp, failed := c.query(ctx, host, qt)
		if failed != "" {
			return netip.Addr{}, fmt.Errorf("query %s %s: %s", host, dns.TypeToString[qt], failed)
		}
		if a := resp.Addrs(); len(a) > 0 {
			return a[0], nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%s has no address", host)
}

// limitedConn fails reads once left bytes have been read.
type limitedConn struct {
	net.Conn
	left int
}

var errTooMuch = errors.New("server sent more than expected before and during the TLS handshake")

func (l *limitedConn) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errTooMuch
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.Conn.Read(p)
	l.left -= n
	return n, err
}

// mxLabel is the label of an MX name: lower case, no trailing dot.
func mxLabel(s string) string { return strings.TrimSuffix(strings.ToLower(s), ".") }
