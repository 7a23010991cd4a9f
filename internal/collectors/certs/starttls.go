// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The plaintext dialogues that come before a STARTTLS handshake. The
// readers are strict and bounded: a line is at most maxLineLen bytes, a
// response at most maxLines lines, so a server that speaks garbage or
// never stops talking fails the check instead of holding it.
const (
	// maxLineLen is far above the 512 bytes of an SMTP reply line (RFC 5321
	// section 4.5.3.1.5) and fits an IMAP greeting that lists capabilities.
	maxLineLen = 2048
	maxLines   = 64
)

// errNoSTARTTLS means the server does not offer STARTTLS.
var errNoSTARTTLS = errors.New("server does not offer STARTTLS")

// textConn reads lines from and writes commands to a plaintext or TLS
// connection.
type textConn struct {
	r *bufio.Reader
	w io.Writer
}

func newTextConn(rw io.ReadWriter) *textConn {
	return &textConn{r: bufio.NewReaderSize(rw, maxLineLen), w: rw}
}

// readLine returns one line without its CRLF or LF.
func (tc *textConn) readLine() (string, error) {
	line, err := tc.r.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return "", fmt.Errorf("line longer than %d bytes", maxLineLen)
	case errors.Is(err, io.EOF):
		return "", errors.New("connection closed by the server")
	case err != nil:
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

func (tc *textConn) send(cmd string) error {
	_, err := io.WriteString(tc.w, cmd+"\r\n")
	return err
}

// readyForTLS checks that the server sent nothing after its answer to
// STARTTLS: such bytes would be read as if they came over TLS (the
// plaintext command injection of CVE-2011-0411, seen from the client side).
func (tc *textConn) readyForTLS() error {
	if n := tc.r.Buffered(); n > 0 {
		return fmt.Errorf("server sent %d bytes after its STARTTLS answer", n)
	}
	return nil
}

// quote shortens and escapes server text for an error message.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}

// probeParams are the per-collector settings the dialogues need.
type probeParams struct {
	ehlo string
}

// smtpReply is one SMTP reply: its code and the text of each line.
type smtpReply struct {
	code  int
	lines []string
}

// readSMTPReply reads a possibly multi-line reply (RFC 5321 section 4.2):
// "250-first", "250-...", "250 last"; every line carries the same code.
func readSMTPReply(tc *textConn) (smtpReply, error) {
	var rep smtpReply
	for i := range maxLines {
		l, err := tc.readLine()
		if err != nil {
			return rep, err
		}
		if len(l) < 3 || !isDigits(l[:3]) || len(l) > 3 && l[3] != ' ' && l[3] != '-' {
			return rep, fmt.Errorf("malformed SMTP reply %s", quote(l))
		}
		code, _ := strconv.Atoi(l[:3])
		if i > 0 && code != rep.code {
			return rep, fmt.Errorf("SMTP reply code changes from %d to %d within a reply", rep.code, code)
		}
		rep.code = code
		if len(l) > 4 {
			rep.lines = append(rep.lines, l[4:])
		} else {
			rep.lines = append(rep.lines, "")
		}
		if len(l) == 3 || l[3] == ' ' {
			return rep, nil
		}
	}
	return rep, fmt.Errorf("SMTP reply longer than %d lines", maxLines)
}

// smtpStartTLS: greeting, EHLO, STARTTLS (RFC 3207).
func smtpStartTLS(tc *textConn, p *probeParams) error {
	rep, err := readSMTPReply(tc)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if rep.code != 220 {
		return fmt.Errorf("greeting is %d %s", rep.code, quote(rep.lines[0]))
	}
	if err := tc.send("EHLO " + p.ehlo); err != nil {
		return err
	}
	if rep, err = readSMTPReply(tc); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if rep.code != 250 {
		return fmt.Errorf("EHLO answered %d %s", rep.code, quote(rep.lines[0]))
	}
	offered := false
	for _, l := range rep.lines[1:] {
		kw, _, _ := strings.Cut(l, " ")
		offered = offered || strings.EqualFold(kw, "STARTTLS")
	}
	if !offered {
		return errNoSTARTTLS
	}
	if err := tc.send("STARTTLS"); err != nil {
		return err
	}
	if rep, err = readSMTPReply(tc); err != nil {
		return fmt.Errorf("STARTTLS: %w", err)
	}
	if rep.code != 220 {
		return fmt.Errorf("STARTTLS answered %d %s", rep.code, quote(rep.lines[0]))
	}
	return tc.readyForTLS()
}

func smtpGoodbye(tc *textConn, implicit bool) {
	if implicit {
		if _, err := readSMTPReply(tc); err != nil {
			return
		}
	}
	if tc.send("QUIT") == nil {
		_, _ = readSMTPReply(tc)
	}
}

// imapStartTLS: greeting, "a1 STARTTLS" (RFC 3501 section 6.2.1).
func imapStartTLS(tc *textConn, _ *probeParams) error {
	if err := readIMAPGreeting(tc); err != nil {
		return err
	}
	if err := tc.send("a1 STARTTLS"); err != nil {
		return err
	}
	status, text, err := readIMAPTagged(tc, "a1")
	if err != nil {
		return fmt.Errorf("STARTTLS: %w", err)
	}
	if status != "OK" {
		return fmt.Errorf("STARTTLS answered %s %s", status, quote(text))
	}
	return tc.readyForTLS()
}

func readIMAPGreeting(tc *textConn) error {
	l, err := tc.readLine()
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	word, _, _ := strings.Cut(strings.TrimPrefix(l, "* "), " ")
	switch {
	case !strings.HasPrefix(l, "* "):
		return fmt.Errorf("malformed IMAP greeting %s", quote(l))
	case strings.EqualFold(word, "OK"):
		return nil
	case strings.EqualFold(word, "PREAUTH"):
		return errors.New("greeting is PREAUTH: the session is authenticated already, STARTTLS is not possible")
	default:
		return fmt.Errorf("greeting is %s", quote(l))
	}
}

// readIMAPTagged skips untagged responses up to the tagged one and returns
// its status (OK, NO, BAD) and text.
func readIMAPTagged(tc *textConn, tag string) (status, text string, err error) {
	for range maxLines {
		l, err := tc.readLine()
		if err != nil {
			return "", "", err
		}
		if strings.HasPrefix(l, "* ") {
			continue
		}
		rest, ok := strings.CutPrefix(l, tag+" ")
		if !ok {
			return "", "", fmt.Errorf("malformed IMAP response %s", quote(l))
		}
		status, text, _ = strings.Cut(rest, " ")
		status = strings.ToUpper(status)
		switch status {
		case "OK", "NO", "BAD":
			return status, text, nil
		}
		return "", "", fmt.Errorf("malformed IMAP status %s", quote(l))
	}
	return "", "", fmt.Errorf("no tagged IMAP response within %d lines", maxLines)
}

func imapGoodbye(tc *textConn, implicit bool) {
	if implicit && readIMAPGreeting(tc) != nil {
		return
	}
	if tc.send("a2 LOGOUT") == nil {
		_, _, _ = readIMAPTagged(tc, "a2")
	}
}

// pop3StartTLS: greeting, STLS (RFC 2595 section 4).
func pop3StartTLS(tc *textConn, _ *probeParams) error {
	if err := readPOP3OK(tc, "greeting"); err != nil {
		return err
	}
	if err := tc.send("STLS"); err != nil {
		return err
	}
	if err := readPOP3OK(tc, "STLS"); err != nil {
		return err
	}
	return tc.readyForTLS()
}

func readPOP3OK(tc *textConn, what string) error {
	l, err := tc.readLine()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	word, _, _ := strings.Cut(l, " ")
	switch word {
	case "+OK":
		return nil
	case "-ERR":
		return fmt.Errorf("%s answered %s", what, quote(l))
	}
	return fmt.Errorf("%s: malformed POP3 response %s", what, quote(l))
}

func pop3Goodbye(tc *textConn, implicit bool) {
	if implicit && readPOP3OK(tc, "greeting") != nil {
		return
	}
	if tc.send("QUIT") == nil {
		_, _ = tc.readLine()
	}
}

// sieveResponse is a ManageSieve response: the lines before the status
// line, and the status (OK, NO, BYE) with its text.
type sieveResponse struct {
	lines  []string
	status string
	text   string
}

// readSieveResponse reads a ManageSieve response (RFC 5804 section 1.3):
// lines of quoted strings (the capabilities), then OK, NO or BYE. A line
// ending in a literal {n} or {n+} is followed by n bytes, read and dropped.
func readSieveResponse(tc *textConn) (sieveResponse, error) {
	var resp sieveResponse
	afterLiteral := false
	for range maxLines {
		l, err := tc.readLine()
		if err != nil {
			return resp, err
		}
		word, text, _ := strings.Cut(l, " ")
		switch w := strings.ToUpper(word); {
		case w == "OK" || w == "NO" || w == "BYE":
			resp.status, resp.text = w, text
			return resp, nil
		case strings.HasPrefix(l, `"`) || afterLiteral:
			resp.lines = append(resp.lines, l)
		default:
			return resp, fmt.Errorf("malformed ManageSieve response %s", quote(l))
		}
		afterLiteral = false
		if n, ok := literalLength(l); ok {
			if _, err := io.CopyN(io.Discard, tc.r, n); err != nil {
				return resp, fmt.Errorf("literal: %w", err)
			}
			afterLiteral = true
		}
	}
	return resp, fmt.Errorf("ManageSieve response longer than %d lines", maxLines)
}

// literalLength recognises a line ending in {n} or {n+} with n up to
// maxLineLen: longer literals have no business in a capability list.
func literalLength(l string) (int64, bool) {
	if !strings.HasSuffix(l, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false
	}
	num := strings.TrimSuffix(l[i+1:len(l)-1], "+")
	if num == "" || len(num) > 5 || !isDigits(num) {
		return 0, false
	}
	n, _ := strconv.Atoi(num)
	if n > maxLineLen {
		return 0, false
	}
	return int64(n), true
}

// sieveStartTLS: capabilities, STARTTLS (RFC 5804 section 2.2).
func sieveStartTLS(tc *textConn, _ *probeParams) error {
	resp, err := readSieveResponse(tc)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if resp.status != "OK" {
		return fmt.Errorf("greeting is %s %s", resp.status, quote(resp.text))
	}
	offered := false
	for _, l := range resp.lines {
		name, _, _ := strings.Cut(l, " ")
		offered = offered || strings.EqualFold(name, `"STARTTLS"`)
	}
	if !offered {
		return errNoSTARTTLS
	}
	if err := tc.send("STARTTLS"); err != nil {
		return err
	}
	if resp, err = readSieveResponse(tc); err != nil {
		return fmt.Errorf("STARTTLS: %w", err)
	}
	if resp.status != "OK" {
		return fmt.Errorf("STARTTLS answered %s %s", resp.status, quote(resp.text))
	}
	return tc.readyForTLS()
}

// sieveGoodbye reads the capabilities a server must send again after the
// handshake, then logs out.
func sieveGoodbye(tc *textConn, _ bool) {
	if _, err := readSieveResponse(tc); err != nil {
		return
	}
	if tc.send("LOGOUT") == nil {
		_, _ = readSieveResponse(tc)
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
