// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"encoding/json"
	"testing"
	"time"
)

func TestJournalValue(t *testing.T) {
	for raw, want := range map[string]string{
		`"text"`:                 `text`,
		`[104,105,10]`:           "hi",
		`["first","second"]`:     "first",
		`[[104,105],"x"]`:        "hi",
		`null`:                   "",
		`[300]`:                  "",
		`"unterminated`:          "",
		`[104,"mixed"]`:          "",
		`"\u00e9t\u00e9 \ud83d"`: "été \uFFFD",
	} {
		if got := string(journalValue(json.RawMessage(raw))); got != want {
			t.Errorf("journalValue(%s) = %q, want %q", raw, got, want)
		}
	}
}

func TestJournalDecode(t *testing.T) {
	var d JournalDecoder
	e, cursor, err := d.Decode([]byte(`{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1795420000250000","MESSAGE":"warning: x",` +
		`"SYSLOG_IDENTIFIER":["postfix/smtpd","dup"],"_PID":"42","_COMM":"smtpd","_HOSTNAME":"mx1"}`))
	if err != nil || cursor != "s=1" {
		t.Fatalf("Decode: %v, cursor %q", err, cursor)
	}
	if got := string(e.Program) + "|" + string(e.PID) + "|" + string(e.Host) + "|" + string(e.Message); got != "postfix/smtpd|42|mx1|warning: x" {
		t.Errorf("entry %s", got)
	}
	if ts, ok := e.Time(fixedNow, time.UTC); !ok || !ts.Equal(time.UnixMicro(1795420000250000)) {
		t.Errorf("time %v, %v", ts, ok)
	}
	if _, cursor, err := d.Decode([]byte(`{"__CURSOR":"s=2","_COMM":"smtpd"}`)); err == nil || cursor != "s=2" {
		t.Errorf("no MESSAGE: %v, cursor %q (want an error and the cursor)", err, cursor)
	}
	if _, _, err := d.Decode([]byte(`{not json`)); err == nil {
		t.Error("bad JSON decoded")
	}
}
