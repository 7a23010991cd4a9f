// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"bufio"
	"bytes"
	"os"
	"testing"
)

// FuzzBuilder feeds arbitrary lines after a real one of each shape: no
// input panics, every line is counted, and no reason or shape outgrows its
// bound.
func FuzzBuilder(f *testing.F) {
	data, err := os.ReadFile(harnessLog)
	if err != nil {
		f.Fatal(err)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		fields := bytes.Fields([]byte(line))
		if len(fields) < 5 {
			continue
		}
		key := string(fields[4])
		if !seen[key] { // one line per syslog tag
			seen[key] = true
			f.Add([]byte(line))
		}
	}
	f.Add([]byte("Dec  6 05:45:38 vm postfix/smtp[3]: 4B1C2C0001: to=<, relay=[, delay=x, status=bounced ("))
	f.Add([]byte("Dec  6 05:45:38 vm postfix/smtpd[3]: NOQUEUE: reject: RCPT from ]: ; from=< helo=<>: "))
	f.Add([]byte("Dec  6 05:45:38 vm postfix/qmgr[3]: 4B1C2C0001: from=<>, size=99999999999999999999999, nrcpt=1"))
	f.Fuzz(func(t *testing.T, line []byte) {
		b, err := NewBuilder(defaultConfig(), Options{MaxKeys: 4, MaxQueue: 4})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			b.Line(line)
		}
		r := b.Report(0)
		if r.Lines != 3 {
			t.Fatalf("lines %d", r.Lines)
		}
		for _, d := range append(append(append([]Detail{}, r.Deferrals...), r.Bounces...), r.Rejects...) {
			if len(d.Reason) > maxReason {
				t.Fatalf("reason of %d bytes", len(d.Reason))
			}
		}
		for _, tab := range r.Tables {
			if tab.Keys > 4 {
				t.Fatalf("table of %d keys", tab.Keys)
			}
		}
	})
}
