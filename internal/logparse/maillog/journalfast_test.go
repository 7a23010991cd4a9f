// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"bytes"
	"testing"
)

var journalFastSeeds = []string{
	`{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1795420000250000","MESSAGE":"4F1A2B3C4D: removed","SYSLOG_IDENTIFIER":"postfix/qmgr","SYSLOG_PID":"12","_PID":"12","_COMM":"qmgr","_HOSTNAME":"mx1"}`,
	`{"_HOSTNAME":"vm","SYSLOG_IDENTIFIER":"postfix/smtp","__REALTIME_TIMESTAMP":"1796543023119234","MESSAGE":"x","__MONOTONIC_TIMESTAMP":"10012454624"}`,
	`{"__CURSOR":"s=2","_COMM":"smtpd"}`,
	`{"MESSAGE":"","_COMM":"smtpd","_PID":"7"}`,
	`{}`,
	` { "MESSAGE" : "spaced" , "_COMM" : "c" } `,
	`{"MESSAGE":"a","MESSAGE":"b"}`,
	`{"MESSAGE":"quote \" inside"}`,
	`{"MESSAGE":"\u00e9t\u00e9"}`,
	`{"MESSAGE":[104,105,10]}`,
	`{"MESSAGE":["first","second"]}`,
	`{"MESSAGE":null}`,
	`{"MESSAGE":"x","SYSLOG_PID":12}`,
	`{"message":"lower case key"}`,
	`{"Message":"mixed case key"}`,
	"{\"MESSAGE\":\"bad utf-8 \xff\"}",
	"{\"MESSAGE\":\"tab\tinside\"}",
	`{"MESSAGE":"x"} trailing`,
	`{"MESSAGE":"x",}`,
	`{"MESSAGE":"x"`,
	`{not json`,
	`[]`,
	``,
}

// FuzzJournalDecodeFast: whenever the fast decoder takes a line, it
// returns what encoding/json returns for it.
func FuzzJournalDecodeFast(f *testing.F) {
	for _, s := range journalFastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		compareJournalDecoders(t, line)
	})
}

func TestJournalDecodeFast(t *testing.T) {
	taken := 0
	for _, s := range journalFastSeeds {
		if compareJournalDecoders(t, []byte(s)) {
			taken++
		}
	}
	if taken < 7 {
		t.Errorf("the fast decoder took %d of the seeds, want the 7 plain ones at least", taken)
	}
	if _, _, ok := decodeFast([]byte(journalFastSeeds[0])); !ok {
		t.Error("the fast decoder does not take journalctl's ordinary line")
	}
}

// compareJournalDecoders checks decodeFast against encoding/json on line
// and reports whether decodeFast took it.
func compareJournalDecoders(t *testing.T, line []byte) bool {
	t.Helper()
	fast, fcur, ok := decodeFast(line)
	if !ok {
		return false
	}
	var d JournalDecoder
	slow, scur, serr := d.decodeJSON(line)
	if fcur != scur {
		t.Errorf("%q: cursor %q, encoding/json %q", line, fcur, scur)
	}
	if (fast.Message == nil) != (serr != nil) {
		t.Errorf("%q: fast has message %v, encoding/json error %v", line, fast.Message != nil, serr)
		return true
	}
	if serr != nil {
		return true
	}
	for _, f := range []struct {
		name       string
		fast, slow []byte
	}{
		{"Message", fast.Message, slow.Message}, {"Program", fast.Program, slow.Program}, {"PID", fast.PID, slow.PID},
		{"Host", fast.Host, slow.Host}, {"Timestamp", fast.Timestamp, slow.Timestamp},
	} {
		if !bytes.Equal(f.fast, f.slow) || (f.fast == nil) != (f.slow == nil) && len(f.fast)+len(f.slow) > 0 {
			t.Errorf("%q: %s %q, encoding/json %q", line, f.name, f.fast, f.slow)
		}
	}
	if fast.usec != slow.usec || fast.tsFmt != slow.tsFmt {
		t.Errorf("%q: time %d/%d, encoding/json %d/%d", line, fast.usec, fast.tsFmt, slow.usec, slow.tsFmt)
	}
	return true
}

// BenchmarkJournalDecode decodes a line as journalctl writes it for a
// Postfix delivery: through the fast decoder, and through encoding/json.
func BenchmarkJournalDecode(b *testing.B) {
	line := []byte(`{"__CURSOR":"s=d3cadfba8be541b2a7cc01f40e2ab253;i=6;b=154761461ea547a9b3e171284070ca83;m=254c9eec7;t=661f244b77b69;x=8413d2772aa64b5c",` +
		`"__REALTIME_TIMESTAMP":"1796543023119209","__MONOTONIC_TIMESTAMP":"10012454599","_BOOT_ID":"154761461ea547a9b3e171284070ca83",` +
		`"SYSLOG_IDENTIFIER":"postfix/smtp","SYSLOG_PID":"123","MESSAGE":"4F1A2B3C4D: to=<a@example.org>, relay=mx.example.org[192.0.2.1]:25, ` +
		`delay=1.2, delays=0.1/0.1/0.5/0.5, dsn=2.0.0, status=sent (250 ok)","_PID":"839","_COMM":"smtp","_HOSTNAME":"mx1"}`)
	var d JournalDecoder
	for _, bc := range []struct {
		name   string
		decode func([]byte) (Entry, string, error)
	}{{"fast", d.Decode}, {"encoding_json", d.decodeJSON}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := bc.decode(line); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
