// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package roundtrip

import (
	"net"
	"net/mail"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "roundtrip"

// Submission and arrival methods, and TLS modes.
const (
	MethodSendmail = "sendmail"
	MethodSMTP     = "smtp"
	MethodMaildir  = "maildir"
	MethodIMAP     = "imap"
	TLSStartTLS    = "starttls"
	TLSImplicit    = "tls"
)

const (
	defaultDeliveryTimeout = 90 * time.Second
	defaultMaxMessages     = 1000
	maxMaxMessages         = 100_000
	defaultFolder          = "INBOX"
)

// Config is the collectors.roundtrip section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// From is the probe's sender (header From and envelope sender): an
	// address of the domain whose DKIM signature is expected.
	From string `yaml:"from"`
	// To is the probe mailbox's address.
	To string `yaml:"to"`
	// DeliveryTimeout is how long a probe may take from submission to
	// arrival before it counts as lost (result "timeout"); shorter than
	// timeout, which also bounds the checks and the cleanup.
	DeliveryTimeout confval.Duration `yaml:"delivery_timeout"`
	// DKIMDomain, when set, is the d= of the DKIM-Signature the delivered
	// copy must carry and that must verify; empty: no DKIM check.
	DKIMDomain string `yaml:"dkim_domain"`
	// SpamHeader, when set, is the header the spam filter adds (Rspamd's
	// X-Spamd-Result, SpamAssassin's X-Spam-Status); empty: no check.
	SpamHeader string `yaml:"spam_header"`
	// Resolver answers the DKIM key queries.
	Resolver dnsclient.Config `yaml:"resolver"`
	// Submit is how the probe is sent.
	Submit Submit `yaml:"submit"`
	// Mailbox is where the probe is looked for.
	Mailbox Mailbox `yaml:"mailbox"`
}

// Server is a TLS server with a login: SMTP submission or IMAP.
type Server struct {
	// Address is host:port (587 or 465 for submission, 993 or 143 for IMAP).
	Address string `yaml:"address"`
	// TLS is "starttls" or "tls" (implicit TLS); there is no plain text.
	TLS string `yaml:"tls"`
	// ServerName is the name the certificate must carry; empty: the host of
	// address.
	ServerName string `yaml:"server_name"`
	// CAFile is a PEM bundle to verify the server with instead of the
	// system's roots. Certificates are always verified.
	CAFile string `yaml:"ca_file"`
	// Username is the login.
	Username string `yaml:"username"`
	// PasswordFile holds the password (its first line); never the config.
	PasswordFile string `yaml:"password_file"`
}

// Submit is the submission subsection.
type Submit struct {
	// Method is "sendmail" (the local sendmail(1); the daemon's user needs
	// group postdrop) or "smtp" (submission with a login).
	Method string `yaml:"method"`
	// Sendmail is the sendmail program.
	Sendmail string `yaml:"sendmail"`
	// SMTP is the submission server, for method smtp.
	SMTP Server `yaml:"smtp"`
}

// Mailbox is the arrival subsection.
type Mailbox struct {
	// Method is "maildir" (the probe mailbox's Maildir on this host) or
	// "imap".
	Method string `yaml:"method"`
	// Path is the Maildir (the directory holding cur/, new/ and tmp/).
	Path string `yaml:"path"`
	// IMAP is the IMAP server, for method imap.
	IMAP Server `yaml:"imap"`
	// Folder is the IMAP folder the probe arrives in.
	Folder string `yaml:"folder"`
	// MaxMessages bounds the messages the probe mailbox may hold: it is
	// meant to hold nothing but probes, and a run reads every header.
	MaxMessages int `yaml:"max_messages"`
}

// Build makes the collector this section configures.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: off (it sends mail); a probe every 5 minutes, a run bounded by
// 2 minutes.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: false, Interval: 5 * time.Minute, Timeout: 2 * time.Minute, MinInterval: 10 * time.Second}
}

// ApplyDefaults fills the keys left at their zero value.
func (c *Config) ApplyDefaults() {
	if c.DeliveryTimeout == 0 {
		c.DeliveryTimeout = confval.Duration(defaultDeliveryTimeout)
	}
	if c.Submit.Method == "" {
		c.Submit.Method = MethodSendmail
	}
	if c.Submit.Sendmail == "" {
		c.Submit.Sendmail = collectors.DefaultSendmail
	}
	if c.Mailbox.Method == "" {
		c.Mailbox.Method = MethodMaildir
	}
	if c.Mailbox.Folder == "" {
		c.Mailbox.Folder = defaultFolder
	}
	if c.Mailbox.MaxMessages == 0 {
		c.Mailbox.MaxMessages = defaultMaxMessages
	}
	for _, s := range []*Server{&c.Submit.SMTP, &c.Mailbox.IMAP} {
		if s.TLS == "" {
			s.TLS = TLSImplicit
		}
	}
	c.Resolver.ApplyDefaults()
}

// headerName is a header field name (RFC 5322 section 3.6.8).
var headerName = regexp.MustCompile(`^[!-9;-~]+$`)

// Validate checks the section; with the collector off only what is set.
func (c *Config) Validate() []error {
	errs := c.Resolver.Validate("resolver")
	on := c.IsEnabled()
	for _, a := range []struct{ at, v string }{{"from", c.From}, {"to", c.To}} {
		switch {
		case a.v == "" && on:
			errs = append(errs, confval.Errorf(a.at, "must be set when the probe is enabled"))
		case a.v != "" && !isAddress(a.v):
			errs = append(errs, confval.Errorf(a.at, "%q is not a plain address (local@domain)", a.v))
		}
	}
	if d := c.DeliveryTimeout.D(); d <= 0 {
		errs = append(errs, confval.Errorf("delivery_timeout", "must be positive"))
	} else if t := c.Timeout.D(); t > 0 && d >= t {
		errs = append(errs, confval.Errorf("delivery_timeout", "%s must be shorter than timeout %s (which also bounds the checks and the cleanup)", c.DeliveryTimeout, c.Timeout))
	}
	if c.DKIMDomain != "" && !dnsclient.IsHostname(dnsclient.NormalizeName(c.DKIMDomain)) {
		errs = append(errs, confval.Errorf("dkim_domain", "%q is not a domain name", c.DKIMDomain))
	}
	if c.SpamHeader != "" && !headerName.MatchString(c.SpamHeader) {
		errs = append(errs, confval.Errorf("spam_header", "%q is not a header field name", c.SpamHeader))
	}
	switch c.Submit.Method {
	case MethodSendmail:
		if !filepath.IsAbs(c.Submit.Sendmail) {
			errs = append(errs, confval.Errorf("submit.sendmail", "must be an absolute path, got %q", c.Submit.Sendmail))
		}
	case MethodSMTP:
		errs = append(errs, c.Submit.SMTP.validate("submit.smtp")...)
	default:
		errs = append(errs, confval.Errorf("submit.method", "must be sendmail or smtp, got %q", c.Submit.Method))
	}
	switch c.Mailbox.Method {
	case MethodMaildir:
		if c.Mailbox.Path == "" {
			if on {
				errs = append(errs, confval.Errorf("mailbox.path", "must be set for method maildir"))
			}
		} else {
			errs = append(errs, confval.CheckPath("mailbox.path", c.Mailbox.Path)...)
		}
	case MethodIMAP:
		errs = append(errs, c.Mailbox.IMAP.validate("mailbox.imap")...)
		if strings.ContainsAny(c.Mailbox.Folder, "\"\\\r\n") {
			errs = append(errs, confval.Errorf("mailbox.folder", "%q: quotes, backslashes and line breaks are not supported", c.Mailbox.Folder))
		}
	default:
		errs = append(errs, confval.Errorf("mailbox.method", "must be maildir or imap, got %q", c.Mailbox.Method))
	}
	if c.Mailbox.MaxMessages < 1 || c.Mailbox.MaxMessages > maxMaxMessages {
		errs = append(errs, confval.Errorf("mailbox.max_messages", "must be between 1 and %d, got %d", maxMaxMessages, c.Mailbox.MaxMessages))
	}
	return errs
}

func (s *Server) validate(at string) []error {
	var errs []error
	if _, port, err := net.SplitHostPort(s.Address); err != nil || port == "" {
		errs = append(errs, confval.Errorf(at+".address", "%q is not host:port", s.Address))
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		errs = append(errs, confval.Errorf(at+".address", "%q has no valid port", s.Address))
	}
	if s.TLS != TLSStartTLS && s.TLS != TLSImplicit {
		errs = append(errs, confval.Errorf(at+".tls", "must be starttls or tls, got %q", s.TLS))
	}
	if s.CAFile != "" {
		errs = append(errs, confval.CheckPath(at+".ca_file", s.CAFile)...)
	}
	if s.Username == "" || strings.ContainsAny(s.Username, "\x00\r\n") {
		errs = append(errs, confval.Errorf(at+".username", "must be set, without NUL or line breaks"))
	}
	if s.PasswordFile == "" {
		errs = append(errs, confval.Errorf(at+".password_file", "must be set (the password is never written in the configuration)"))
	} else {
		errs = append(errs, confval.CheckPath(at+".password_file", s.PasswordFile)...)
	}
	return errs
}

// isAddress: a bare addr-spec, as net/mail parses it, with a domain.
func isAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && strings.Contains(s, "@") && !strings.ContainsAny(s, "<> \r\n")
}

var _ collectors.Section = (*Config)(nil)
