// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// DefaultSendmail is the sendmail of Postfix (and of every MTA's sendmail
// compatibility interface).
const DefaultSendmail = collectors.DefaultSendmail

// DefaultMailTimeout bounds a sendmail run.
const DefaultMailTimeout = time.Minute

// localName is a recipient without a domain, as cron's MAILTO often is.
var localName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// Message returns the report as a mail to the given addresses: a
// multipart/alternative of the text form and the HTML page, both UTF-8 in
// quoted-printable, with the headers `sendmail -t` reads the recipients
// from.
func (r *Report) Message(to []string, subject string, now time.Time) ([]byte, error) {
	var list []string
	for _, t := range to {
		if localName.MatchString(t) { // "postmaster", "root": sendmail qualifies them
			list = append(list, t)
			continue
		}
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("--mail-to %q: %w", t, err)
		}
		list = append(list, a.String())
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no recipient")
	}
	if subject == "" {
		subject = r.title()
	}
	var text, page bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		return nil, err
	}
	if err := r.WriteHTML(&page); err != nil {
		return nil, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct {
		ctype string
		data  []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", page.Bytes()}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qw := quotedprintable.NewWriter(w)
		if _, err := qw.Write(part.data); err != nil {
			return nil, err
		}
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	host, err := os.Hostname()
	if err != nil || !localName.MatchString(host) {
		host = "localhost"
	}
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "To: %s\r\n", strings.Join(list, ", "))
	fmt.Fprintf(&msg, "Message-ID: <mailwatchd-report.%s.%x@%s>\r\n", now.UTC().Format("20060102T150405"), id, host)
	fmt.Fprintf(&msg, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&msg, "Date: %s\r\n", now.Format(time.RFC1123Z))
	msg.WriteString("MIME-Version: 1.0\r\n")
	msg.WriteString("Auto-Submitted: auto-generated\r\n")
	fmt.Fprintf(&msg, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n", mw.Boundary())
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

// Sendmail pipes msg to `sendmail -t -i` (the recipients from the headers,
// a lone dot is no end of input) with collectors.Sendmail, killed at the
// timeout (default DefaultMailTimeout). Its error quotes sendmail's last
// line of stderr.
func Sendmail(ctx context.Context, path string, msg []byte, timeout time.Duration) error {
	if path == "" {
		path = DefaultSendmail
	}
	if timeout <= 0 {
		timeout = DefaultMailTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := collectors.Sendmail(ctx, path, msg)
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s -t -i: no answer in %s", path, timeout)
	}
	return err
}
