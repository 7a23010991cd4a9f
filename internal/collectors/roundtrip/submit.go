// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package roundtrip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// markerHeader marks a probe: "host=<host>; id=<nonce>; t=<unix time of
// submission>". A message is a probe of this host when its marker names
// the host; stragglers are found by it (and told from a probe another
// daemon of the same host has in flight by its time), and nothing without
// it is ever deleted.
const markerHeader = "X-Mailwatchd-Probe"

var hostChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// hostMarker is this host's part of the marker, with a trailing ";" so
// that "mx1" does not match "mx10".
func hostMarker(host string) string {
	host = hostChars.ReplaceAllString(host, "-")
	if host == "" {
		host = "localhost"
	}
	return "host=" + host + ";"
}

// markerTime is the submission time of the marker's t=, and false when it
// has none.
func markerTime(marker string) (time.Time, bool) {
	for _, part := range strings.Split(marker, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
				return time.Unix(n, 0), true
			}
		}
	}
	return time.Time{}, false
}

func newNonce() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// probeMessage is the probe: plain ASCII text, its marker header, a
// Message-ID of its own, Auto-Submitted so that no vacation responder
// answers it (RFC 3834).
func probeMessage(from, to, host, nonce string, now time.Time) []byte {
	var b strings.Builder
	h := strings.TrimSuffix(strings.TrimPrefix(hostMarker(host), "host="), ";")
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: mailwatchd round-trip probe %s\r\n", nonce)
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <mailwatchd-probe.%s@%s>\r\n", nonce, h)
	fmt.Fprintf(&b, "%s: %s id=%s; t=%d\r\n", markerHeader, hostMarker(host), nonce, now.Unix())
	b.WriteString("Auto-Submitted: auto-generated\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n")
	b.WriteString("\r\n")
	b.WriteString("This message was sent by mailwatchd's mail round-trip probe.\r\n")
	b.WriteString("It is deleted from the probe mailbox as soon as it arrives.\r\n")
	return []byte(b.String())
}

// submitter hands a probe to the mail system.
type submitter interface {
	submit(ctx context.Context, from, to string, msg []byte) error
}

// sendmailSubmitter runs sendmail -t -i -f <from> (collectors.Sendmail,
// as the report mail does).
type sendmailSubmitter struct{ path string }

func (s sendmailSubmitter) submit(ctx context.Context, from, _ string, msg []byte) error {
	return collectors.Sendmail(ctx, s.path, msg, "-f", from)
}

// smtpSubmitter submits over SMTP (RFC 6409) with AUTH PLAIN, over
// implicit TLS (RFC 8314) or STARTTLS, the certificate verified.
type smtpSubmitter struct{ srv Server }

func (s smtpSubmitter) submit(ctx context.Context, from, to string, msg []byte) error {
	password, err := ReadPassword(s.srv.PasswordFile)
	if err != nil {
		return err
	}
	cfg, err := s.srv.tlsConfig()
	if err != nil {
		return err
	}
	conn, err := s.srv.dial(ctx, cfg)
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	host, _, _ := net.SplitHostPort(s.srv.Address)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "localhost"
	}
	if err := c.Hello(name); err != nil {
		return fmt.Errorf("smtp EHLO: %w", err)
	}
	if s.srv.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp: %s offers no STARTTLS", s.srv.Address)
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp STARTTLS: %w", err)
		}
	}
	if err := c.Auth(smtp.PlainAuth("", s.srv.Username, password, host)); err != nil {
		return fmt.Errorf("smtp AUTH: %w", err)
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of DATA: %w", err)
	}
	_ = c.Quit()
	return nil
}
