// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"math"
	"strings"
	"testing"
)

// FuzzFromCounter: fed in any chunks, the streaming counter agrees with
// the line-by-line definition.
func FuzzFromCounter(f *testing.F) {
	f.Add([]byte(mbox("a", "b")), uint16(3), uint16(17))
	f.Add([]byte("From a\n>From b\nFrom"), uint16(1), uint16(1))
	f.Add([]byte("\r\nFrom x\r\n\nFrom "), uint16(0), uint16(9))
	f.Fuzz(func(t *testing.T, data []byte, a, b uint16) {
		want := refCountFrom(data)
		var fc fromCounter
		i, j := min(int(a), len(data)), min(int(b), len(data))
		if i > j {
			i, j = j, i
		}
		fc.feed(data[:i])
		fc.feed(data[i:j])
		fc.feed(data[j:])
		if fc.n != want {
			t.Errorf("chunks at %d,%d: counted %d, want %d", i, j, fc.n, want)
		}
	})
}

// FuzzParseQuota: any doveadm output parses without panicking, keeps to
// the user limit, and yields finite, scaled values.
func FuzzParseQuota(f *testing.F) {
	f.Add("Username\tQuota name\tType\tValue\tLimit\t%\na\tq\tSTORAGE\t1\t2\t50\na\tq\tMESSAGE\t3\t-\t0\n", "")
	f.Add("Quota name\tType\tValue\tLimit\t%\nUser quota\tSTORAGE\terror\terror\terror\n", "u")
	f.Add("Type\tValue\tLimit\nSTORAGE\t9223372036854775807\t-\n", "")
	f.Add("\n\n", "")
	f.Fuzz(func(t *testing.T, in, user string) {
		out := map[string]*quotaUsage{}
		err := parseQuota(strings.NewReader(in), user, out, 5)
		if len(out) > 5 {
			t.Fatalf("%d users kept, limit 5", len(out))
		}
		if err != nil {
			return
		}
		for u, q := range out {
			r := q.ratio()
			if math.IsNaN(r) || math.IsInf(r, 0) {
				t.Errorf("user %q: ratio %v", u, r)
			}
			if q.storage.seen && q.storage.used%1024 != 0 {
				t.Errorf("user %q: storage %d not scaled from KiB", u, q.storage.used)
			}
		}
	})
}

// FuzzSizeFromName: a size is found only where a ",S=" field is, and is
// never negative.
func FuzzSizeFromName(f *testing.F) {
	f.Add("1700000000.M1P2.host,S=1234,W=1260:2,S")
	f.Add("x,S=")
	f.Fuzz(func(t *testing.T, name string) {
		n, ok := sizeFromName(name)
		if ok && (n < 0 || !strings.Contains(name, ",S=")) {
			t.Errorf("sizeFromName(%q) = %d, %v", name, n, ok)
		}
	})
}
