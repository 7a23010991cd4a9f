// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package roundtrip

import (
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: false, Interval: 5 * time.Minute, Timeout: 2 * time.Minute, MinInterval: 10 * time.Second})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	on := true
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults"},
		{Name: "enabled without addresses or mailbox", YAML: "enabled: true", Want: []string{
			"from: must be set when the probe is enabled",
			"to: must be set when the probe is enabled",
			"mailbox.path: must be set for method maildir",
		}},
		{Name: "maildir probe", YAML: "{enabled: true, from: p@example.org, to: box@example.org, dkim_domain: example.org, spam_header: X-Spamd-Result, mailbox: {path: /home/probe/Maildir}}"},
		{Name: "bad values", Config: Config{
			Settings: collectors.Settings{Enabled: &on},
			From:     "Probe <p@example.org>", To: "nobody", DKIMDomain: "not a domain", SpamHeader: "X Spam",
			Submit:  Submit{Method: "mailx"},
			Mailbox: Mailbox{Method: MethodMaildir, Path: "Maildir", MaxMessages: -1},
		}, Want: []string{
			`from: "Probe <p@example.org>" is not a plain address`,
			`to: "nobody" is not a plain address`,
			`dkim_domain: "not a domain" is not a domain name`,
			`spam_header: "X Spam" is not a header field name`,
			`submit.method: must be sendmail or smtp, got "mailx"`,
			`mailbox.path: must be an absolute path`,
			`mailbox.max_messages: must be between 1 and 100000, got -1`,
		}},
		{Name: "smtp and imap incomplete", YAML: "{submit: {method: smtp, smtp: {address: mail.example.org, tls: none}}, mailbox: {method: imap, imap: {address: '127.0.0.1:993', username: probe, password_file: secret}, folder: 'a\"b'}}", Want: []string{
			`submit.smtp.address: "mail.example.org" is not host:port`,
			`submit.smtp.tls: must be starttls or tls, got "none"`,
			"submit.smtp.username: must be set",
			"submit.smtp.password_file: must be set (the password is never written in the configuration)",
			`mailbox.imap.password_file: must be an absolute path`,
			`mailbox.folder: "a\"b": quotes, backslashes and line breaks are not supported`,
		}},
		{Name: "delivery timeout not below timeout", YAML: "{timeout: 1m, delivery_timeout: 1m}", Want: []string{
			"delivery_timeout: 1m0s must be shorter than timeout 1m0s",
		}},
		{Name: "unknown key", YAML: "password: x", DecodeError: "field password not found"},
	})
}
