// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// corpusGlob is the log corpus of the pipeline's tests: lines of every
// program and format the parser knows.
const corpusGlob = "../testdata/corpus/*.log"

// fuzzSeeds are lines of every shape the parser and the rules know, plus
// broken ones.
func fuzzSeeds(f *testing.F) {
	f.Helper()
	files, _ := filepath.Glob(corpusGlob)
	if len(files) == 0 {
		f.Fatal("no corpus")
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for i, line := range bytes.Split(data, []byte{'\n'}) {
			if i%7 == 0 && len(line) < 4096 { // a sample keeps the seed corpus small
				f.Add(line)
			}
		}
	}
	for _, s := range []string{
		"", "<", "<1", "<999999>", "Nov", "Nov 22 05:34:01", "Nov 22 05:34:01 ", "Nov 22 05:34:01 h p[",
		"Nov 22 05:34:01 h p[]:", "Nov 22 05:34:01 h [1]: m", "Nov 22 05:34:01 :", "Nov 22 05:34:01 h :",
		"2026-11-23T07:26:25", "2026-11-23T07:26:25 h p: m", "2026-11-23 07:26:25,1 x",
		"2026-11-23 07:26:25,123 f2b.x [: m", "2026-11-23 07:26:25,123 f [1: m",
		"Nov 22 05:34:01 h postfix/smtpd[1]: NOQUEUE: reject: ", "Nov 22 05:34:01 h postfix/cleanup[1]: 0B1C2D3E4F: reject: ",
		"Nov 22 05:34:01 h postfix/cleanup[1]: 0B1C2D3E4F: milter-reject: E", "Nov 22 05:34:01 h postfix/smtp[1]: 0B1C2D3E4F: to=<, status=",
		"Nov 22 05:34:01 h dovecot: x(: ", "Nov 22 05:34:01 h dovecot: imap-login: Info: ", "Nov 22 05:34:01 h amavis[1]: (1-",
		"Nov 22 05:34:01 h amavis[1]: (!!", "Nov 22 05:34:01 h clamd[1]: Sun Nov 22 05:34:01 2026 -> ",
		"Nov 22 05:34:01 h fail2ban.actions[1]: NOTICE [", "Nov 22 05:34:01 h fail2ban.actions[1]: NOTICE [j]",
		"Nov 22 05:34:01 h rspamd[1]: rspamd_task_write_log: (default: ", "Nov 22 05:34:01 imap(x)<1><",
		"Nov 22 05:34:01 h opendkim[1]: 0B1C2D3E4F:", "\x00\xff\xfe", "Nov 22 05:34:01 h p[1]: \xff",
		"Dec  6 10:00:01 mx postfix/smtp[1]: 0B1C2D3E4F: to=<b@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.1.1]:25, delay=0.9, delays=0.01/0/0.5/0.4, dsn=4.7.650, status=deferred (host outlook-com.olc.protection.outlook.com[52.101.1.1] said: 451 4.7.650 The mail server [198.51.100.7] has been temporarily rate limited due to IP reputation. (in reply to MAIL FROM command))",
		"Dec  6 10:00:01 mx postfix/smtp[1]: 0B1C2D3E4F: to=<a@gmail.com>, relay=x.google.com[1.2.3.4]:25, conn_use=3, delay=1, delays=1/0/0/0, tls=may, dsn=2.0.0, status=sent (250 ok)",
		"Dec  6 10:00:01 mx postfix/smtp[1]: 0B1C2D3E4F: to=<a@, relay=, delay=, delays=///, dsn=, status=bounced (",
		"Dec  6 10:00:01 mx postfix/qmgr[1]: 0B1C2D3E4F: from=<s@x>, status=expired, returned to sender",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParse: Parse never panics, and what it returns lies inside the line.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		e, ok := Parse(line)
		if !ok {
			return
		}
		for _, part := range [][]byte{e.Timestamp, e.Host, e.PID, e.Message} {
			if len(part) > len(line) {
				t.Fatalf("part longer than the line: %q in %q", part, line)
			}
		}
		if len(e.Program) == 0 {
			t.Fatalf("entry without program from %q", line)
		}
		e.Time(fixedNow, fixedNow.Location()) // must not panic either
	})
}

// FuzzClassify: classification never panics, results stay inside the
// enumerations, a delivery goes with its action, and it is deterministic.
func FuzzClassify(f *testing.F) {
	fuzzSeeds(f)
	c, err := NewClassifier([]Rule{
		{Name: "fuzz_rule", Program: "postfix/smtpd", Match: regexp.MustCompile(`reject: \w+`)},
		{Name: "any", Match: regexp.MustCompile("x")},
	}, DefaultProviders())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		e, ok := Parse(line)
		if !ok {
			e = Entry{Program: line, Message: line} // journal entries can carry any program and message
		}
		var r1, r2 Result
		c.Classify(&e, &r1)
		c.Classify(&e, &r2)
		if r1.Program >= NumPrograms || r1.Action >= NumActions || r1.Reason >= NumReasons {
			t.Fatalf("out of range: %+v", r1)
		}
		for _, ev := range r1.Events[:r1.NEvents] {
			if ev == EvNone || ev >= NumEvents {
				t.Fatalf("bad event %d", ev)
			}
		}
		if (r1.Reason != ReasonNone) != (r1.Action == ActRejected) {
			t.Fatalf("reason %v with action %v", r1.Reason, r1.Action)
		}
		d := r1.Delivery
		if d.Status >= NumStatuses || d.Transport >= NumTransports || d.Reason >= NumDeliveryReasons ||
			int(d.Provider) >= len(c.ProviderNames()) {
			t.Fatalf("delivery out of range: %+v", d)
		}
		switch r1.Action {
		case ActDelivered, ActForwarded, ActDeferred, ActBounced, ActExpired:
			if d.Status == StatusNone {
				t.Fatalf("action %v without a delivery", r1.Action)
			}
		default:
			if d.Status != StatusNone {
				t.Fatalf("delivery %+v with action %v", d, r1.Action)
			}
		}
		if (d.Reason == DRNone) != (d.Status == StatusNone || d.Status == StatusSent || d.Status == StatusExpired) {
			t.Fatalf("reason %v with status %v", d.Reason, d.Status)
		}
		if d != r2.Delivery {
			t.Fatalf("delivery not deterministic: %+v vs %+v", d, r2.Delivery)
		}
		if r1.Program != r2.Program || r1.Matched != r2.Matched || r1.Events != r2.Events || r1.Action != r2.Action ||
			len(r1.Rules) != len(r2.Rules) {
			t.Fatalf("not deterministic: %+v vs %+v", r1, r2)
		}
		if len(r1.Rules) > 0 && !r1.Matched {
			t.Fatal("a user rule matched but the line is unmatched")
		}
	})
}

var fixedNow = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
