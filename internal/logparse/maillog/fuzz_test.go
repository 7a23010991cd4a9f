// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
		// The flow lines: services, stages, TLS, postscreen, sizes, events, verdicts.
		"Dec  6 10:00:01 mx postfix-out/submission/smtpd[1]: connect from x[192.0.2.1]",
		"Dec  6 10:00:01 mx /smtpd[1]: connect from x[192.0.2.1]", "Dec  6 10:00:01 mx postfix//smtpd[1]: lost connection after ",
		"Dec  6 10:00:01 mx postfix/smtpd[1]: lost connection after DATA (0 bytes) from x[192.0.2.1]",
		"Dec  6 10:00:01 mx postfix/smtp[1]: Verified TLS connection established to", "Dec  6 10:00:01 mx postfix/smtpd[1]: Trusted TLS connection established from ",
		"Dec  6 10:00:01 mx postfix/postscreen[1]: PASS NEW [192.0.2.1]:1", "Dec  6 10:00:01 mx postfix/postscreen[1]: NOQUEUE: reject: CONNECT from [192.0.2.1]:1: too many connections",
		"Dec  6 10:00:01 mx postfix/qmgr[1]: 0B1C2D3E4F: from=<>, size=99999999999999999999, nrcpt=1 (queue active)",
		"Dec  6 10:00:01 mx postfix/qmgr[1]: 0B1C2D3E4F: from=<>, size=1, nrcpt= (queue active)", "Dec  6 10:00:01 mx postfix/qmgr[1]: 0B1C2D3E4F: removed",
		"Dec  6 10:00:01 mx postfix/master[1]: warning: service \"smtp\" (25) has reached its process limit \"100\": x",
		"Dec  6 10:00:01 mx postfix/smtpd[1]: warning: Connection rate limit exceeded: 61 from x[192.0.2.1] for service smtp",
		"Dec  6 10:00:01 mx postfix/smtpd[1]: warning: proxy:mysql:/x.cf lookup error for \"a\"",
		"Dec  6 10:00:01 mx dovecot: master: Warning: service(imap-login): process_limit (100) reached, client connections are being dropped",
		"Dec  6 10:00:01 mx dovecot: master: Warning: service(x): ", "Dec  6 10:00:01 mx dovecot: imap(u)<1><s>: Error: open(/x) failed: Permission denied",
		"Dec  6 10:00:01 mx auth: pam_unix(dovecot:auth): authentication failure; logname=", "Dec  6 10:00:01 mx auth: pam_unix(",
		"Dec  6 10:00:01 mx saslauthd[1]: do_auth         : auth failure: [user=u]", "Dec  6 10:00:01 mx spamd[1]: spamd: result: Y 15 - X",
		"Dec  6 10:00:01 mx spamd[1]: spamd: result: ", "Dec  6 10:00:01 mx amavis[1]: (1-01) Passed ", "Dec  6 10:00:01 mx amavis[1]: Blocked BAD-HEADER-7 {x}",
		"2026-05-01 12:00:00 #1(normal) <a>; task; rspamd_task_write_log: (default: F (no action): [0/15]",
		"2026-05-01 12:00:00.12345 [info] #1(normal) x", "2026-05-01 12:00:00 [", "2026-05-01 12:00:00 #", "2026-05-01 12:00:00.",
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
	}, DefaultProviders(), DefaultServices()...)
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
		fl := r1.Flow
		if fl.Conn > ConnLost || int(fl.Service) >= len(c.ServiceNames()) || fl.After >= NumSMTPStages ||
			fl.TLSDir >= NumTLSDirections || fl.TLSTrust >= NumTLSTrusts || fl.Postscreen >= NumPostscreenEvents ||
			fl.Scanner >= NumScanners || fl.Verdict >= NumVerdicts {
			t.Fatalf("flow out of range: %+v", fl)
		}
		if fl.Scanner != ScannerNone && !slices.Contains(ScannerVerdicts[fl.Scanner], fl.Verdict) {
			t.Fatalf("verdict %v is not one of %v's", fl.Verdict, fl.Scanner)
		}
		if (fl.HasSize || fl.Removed) && !IsQueueID(fl.QueueID) {
			t.Fatalf("size or removal without a queue id: %+v", fl)
		}
		if fl.IsZero() != r2.Flow.IsZero() || fl.Size != r2.Flow.Size || fl.Verdict != r2.Flow.Verdict || fl.After != r2.Flow.After {
			t.Fatalf("flow not deterministic: %+v vs %+v", fl, r2.Flow)
		}
	})
}

var fixedNow = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
