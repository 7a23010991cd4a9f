// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package roundtrip

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The IMAP client: only what the probe needs, from RFC 9051 (IMAP4rev2)
// and RFC 3501 (IMAP4rev1, which Dovecot 2.3 speaks): the greeting,
// STARTTLS, AUTHENTICATE PLAIN (RFC 4616) with a continuation, CAPABILITY,
// SELECT, UID SEARCH HEADER, UID FETCH BODY.PEEK[], UID STORE +FLAGS.SILENT
// (\Deleted) and UID EXPUNGE (RFC 4315 UIDPLUS: it expunges the given UIDs
// only, where a plain EXPUNGE would also remove whatever else a mail client
// had flagged \Deleted), LOGOUT. No go-imap release is stable (v2 is a
// beta), so it is kept small and bounded instead: lines of at most
// maxIMAPLine bytes, literals of at most maxMessageBytes, every read and
// write under the run's deadline.

const maxIMAPLine = 64 << 10

type imapBox struct {
	conn        net.Conn
	r           *bufio.Reader
	tag         int
	uidplus     bool
	maxMessages int
}

// imapLine is one response line, its literals taken out.
type imapLine struct {
	text     string
	literals [][]byte
}

var (
	literalEnd = regexp.MustCompile(`\{(\d+)\+?\}$`)
	existsLine = regexp.MustCompile(`^(\d+) EXISTS$`)
)

func dialIMAP(ctx context.Context, srv Server, password, folder string, maxMessages int) (*imapBox, error) {
	cfg, err := srv.tlsConfig()
	if err != nil {
		return nil, err
	}
	conn, err := srv.dial(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("imap connect: %w", err)
	}
	c := &imapBox{conn: conn, r: bufio.NewReader(conn), maxMessages: maxMessages}
	ok := false
	defer func() {
		if !ok {
			_ = conn.Close()
		}
	}()
	greet, err := c.readLine()
	if err != nil {
		return nil, fmt.Errorf("imap greeting: %w", err)
	}
	if !strings.HasPrefix(greet.text, "* OK") && !strings.HasPrefix(greet.text, "* PREAUTH") {
		return nil, fmt.Errorf("imap greeting: %q", clip(greet.text))
	}
	if srv.TLS == TLSStartTLS {
		if _, err := c.do("STARTTLS"); err != nil {
			return nil, err
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("imap STARTTLS: %w", err)
		}
		c.conn, c.r = tc, bufio.NewReader(tc)
	}
	if err := c.authenticate(srv.Username, password); err != nil {
		return nil, err
	}
	lines, err := c.do("CAPABILITY")
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		if strings.HasPrefix(strings.ToUpper(l.text), "* CAPABILITY ") {
			for _, capa := range strings.Fields(strings.ToUpper(l.text)) {
				c.uidplus = c.uidplus || capa == "UIDPLUS"
			}
		}
	}
	q, err := quote(folder)
	if err != nil {
		return nil, err
	}
	if lines, err = c.do("SELECT " + q); err != nil {
		return nil, err
	}
	for _, l := range lines {
		if m := existsLine.FindStringSubmatch(strings.TrimPrefix(l.text, "* ")); m != nil {
			if n, _ := strconv.Atoi(m[1]); n > maxMessages {
				return nil, fmt.Errorf("imap folder %s holds %d messages, more than %d (mailbox.max_messages): the probe mailbox should hold nothing but probes", folder, n, maxMessages)
			}
		}
	}
	ok = true
	return c, nil
}

// authenticate logs in with SASL PLAIN, the credentials sent after the
// server's continuation (no SASL-IR needed).
func (c *imapBox) authenticate(user, password string) error {
	tag := c.next()
	if err := c.send(tag + " AUTHENTICATE PLAIN"); err != nil {
		return err
	}
	l, err := c.readLine()
	if err != nil {
		return fmt.Errorf("imap AUTHENTICATE: %w", err)
	}
	if !strings.HasPrefix(l.text, "+") {
		return fmt.Errorf("imap AUTHENTICATE: %q", clip(l.text))
	}
	if err := c.send(base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))); err != nil {
		return err
	}
	if _, err := c.wait(tag, "AUTHENTICATE"); err != nil {
		return err
	}
	return nil
}

func (c *imapBox) next() string {
	c.tag++
	return "m" + strconv.Itoa(c.tag)
}

func (c *imapBox) send(line string) error {
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return fmt.Errorf("imap write: %w", err)
	}
	return nil
}

// do sends a command and returns the untagged lines of its response.
func (c *imapBox) do(cmd string) ([]imapLine, error) {
	tag := c.next()
	if err := c.send(tag + " " + cmd); err != nil {
		return nil, err
	}
	verb, _, _ := strings.Cut(cmd, " ")
	if verb == "UID" {
		verb = cmd[:min(len(cmd), 10)]
	}
	return c.wait(tag, verb)
}

// wait reads untagged lines until the tagged completion of tag; NO and BAD
// are errors quoting the server's text.
func (c *imapBox) wait(tag, what string) ([]imapLine, error) {
	var out []imapLine
	for {
		l, err := c.readLine()
		if err != nil {
			return nil, fmt.Errorf("imap %s: %w", what, err)
		}
		rest, ok := strings.CutPrefix(l.text, tag+" ")
		if !ok {
			if strings.HasPrefix(l.text, "* BYE") {
				return nil, fmt.Errorf("imap %s: server closed: %q", what, clip(l.text))
			}
			if len(out) >= 4*c.maxMessages+64 {
				return nil, fmt.Errorf("imap %s: too many response lines", what)
			}
			out = append(out, l)
			continue
		}
		if strings.HasPrefix(strings.ToUpper(rest), "OK") {
			return out, nil
		}
		return nil, fmt.Errorf("imap %s: %s", what, clip(rest))
	}
}

// readLine reads one response line, with the literals it announces.
func (c *imapBox) readLine() (imapLine, error) {
	var l imapLine
	var b strings.Builder
	for {
		part, err := c.readRaw()
		if err != nil {
			return l, err
		}
		if b.Len()+len(part) > maxIMAPLine {
			return l, errors.New("response line too long")
		}
		b.WriteString(part)
		m := literalEnd.FindStringSubmatch(part)
		if m == nil {
			l.text = b.String()
			return l, nil
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n > maxMessageBytes {
			return l, fmt.Errorf("literal of %s bytes, more than %d", m[1], maxMessageBytes)
		}
		if len(l.literals) >= 8 {
			return l, errors.New("too many literals in one response")
		}
		lit := make([]byte, n)
		if _, err := io.ReadFull(c.r, lit); err != nil {
			return l, err
		}
		l.literals = append(l.literals, lit)
	}
}

// readRaw reads up to CRLF (or LF), without it.
func (c *imapBox) readRaw() (string, error) {
	var b []byte
	for {
		chunk, err := c.r.ReadSlice('\n')
		b = append(b, chunk...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
		if len(b) > maxIMAPLine {
			return "", errors.New("response line too long")
		}
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func (c *imapBox) find(_ context.Context, substr string) ([]string, error) {
	q, err := quote(substr)
	if err != nil {
		return nil, err
	}
	lines, err := c.do("UID SEARCH HEADER " + markerHeader + " " + q)
	if err != nil {
		return nil, err
	}
	var uids []string
	for _, l := range lines {
		rest, ok := strings.CutPrefix(strings.ToUpper(l.text), "* SEARCH")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(rest) {
			if _, err := strconv.ParseUint(f, 10, 32); err == nil {
				uids = append(uids, f)
			}
		}
	}
	if len(uids) > c.maxMessages {
		return nil, fmt.Errorf("imap: %d probe messages, more than %d (mailbox.max_messages)", len(uids), c.maxMessages)
	}
	return uids, nil
}

func (c *imapBox) fetch(_ context.Context, uid string) ([]byte, error) {
	if _, err := strconv.ParseUint(uid, 10, 32); err != nil {
		return nil, fmt.Errorf("bad IMAP UID %q", uid)
	}
	lines, err := c.do("UID FETCH " + uid + " (BODY.PEEK[])")
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		if strings.Contains(strings.ToUpper(l.text), "FETCH") && len(l.literals) > 0 {
			return l.literals[0], nil
		}
	}
	return nil, fmt.Errorf("imap UID FETCH %s: no message in the answer (expunged meanwhile?)", uid)
}

// marker fetches the message's marker header field.
func (c *imapBox) marker(_ context.Context, uid string) (string, error) {
	if _, err := strconv.ParseUint(uid, 10, 32); err != nil {
		return "", fmt.Errorf("bad IMAP UID %q", uid)
	}
	lines, err := c.do("UID FETCH " + uid + " (BODY.PEEK[HEADER.FIELDS (" + markerHeader + ")])")
	if err != nil {
		return "", err
	}
	for _, l := range lines {
		if strings.Contains(strings.ToUpper(l.text), "FETCH") && len(l.literals) > 0 {
			tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(l.literals[0])))
			h, _ := tr.ReadMIMEHeader()
			return h.Get(markerHeader), nil
		}
	}
	return "", nil // expunged meanwhile
}

// remove flags the one message \Deleted and expunges it by its UID.
func (c *imapBox) remove(_ context.Context, uid string) error {
	if _, err := strconv.ParseUint(uid, 10, 32); err != nil {
		return fmt.Errorf("bad IMAP UID %q", uid)
	}
	if !c.uidplus {
		return errors.New("imap server lacks UIDPLUS: the probe is flagged \\Deleted only (a plain EXPUNGE could remove other messages)")
	}
	if _, err := c.do("UID STORE " + uid + ` +FLAGS.SILENT (\Deleted)`); err != nil {
		return err
	}
	_, err := c.do("UID EXPUNGE " + uid)
	return err
}

// close logs out politely (the server answers BYE, then the tagged OK),
// waiting at most half a second for it.
func (c *imapBox) close() {
	tag := c.next()
	if c.send(tag+" LOGOUT") == nil {
		_ = c.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		for range 4 {
			l, err := c.readLine()
			if err != nil || strings.HasPrefix(l.text, tag+" ") {
				break
			}
		}
	}
	_ = c.conn.Close()
}

// quote makes an IMAP quoted string of s; only what needs no escaping.
func quote(s string) (string, error) {
	if strings.ContainsAny(s, "\"\\\r\n\x00") {
		return "", fmt.Errorf("imap: cannot quote %q", s)
	}
	return `"` + s + `"`, nil
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
