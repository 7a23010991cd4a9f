// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// synthReasons is a realistic mix: most deferred mail shares few reasons.
var synthReasons = []string{
	"connect to mx.partner-a.example[192.0.2.10]:25: Connection refused",
	"host mx.tempfail.example[192.0.2.11] said: 451 4.7.1 Greylisted, please try again later (in reply to RCPT TO command)",
	"delivery temporarily suspended: conversation with mx.slow.example[192.0.2.12] timed out while receiving the initial server greeting",
	"Host or domain name not found. Name service error for name=gone.example type=MX: Host not found, try again",
	"host mx.full.example[192.0.2.13] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command)",
}

var synthQueues = []string{"deferred", "deferred", "deferred", "active", "hold", "incoming"}

// synthShowq builds a Postfix 3.x showq stream of n messages with one to
// three recipients each.
func synthShowq(n int) []byte {
	var b bytes.Buffer
	b.WriteString("protocol\x00mail_queue_list_protocol\x00\x00")
	for i := range n {
		q := synthQueues[i%len(synthQueues)]
		fmt.Fprintf(&b, "queue_name\x00%s\x00queue_id\x00%010X\x00time\x00%d\x00size\x00%d\x00forced_expire\x000\x00sender\x00sender%d@example.org\x00",
			q, i, 1700000000+i, 1000+i%50000, i%97)
		for r := range 1 + i%3 {
			why := ""
			if q == "deferred" {
				why = synthReasons[(i+r)%len(synthReasons)]
			}
			fmt.Fprintf(&b, "recipient\x00user%d@dest%d.example\x00reason\x00%s\x00", r, i%40, why)
		}
		b.WriteByte(0)
	}
	b.WriteByte(0)
	return b.Bytes()
}

// synthText builds the same queue in the 2.x text format.
func synthText(n int) []byte {
	var b bytes.Buffer
	b.WriteString("-Queue ID- --Size-- ----Arrival Time---- -Sender/Recipient-------\n")
	base := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for i := range n {
		q := synthQueues[i%len(synthQueues)]
		mark := map[string]string{"active": "*", "hold": "!"}[q]
		fmt.Fprintf(&b, "%010X%s %8d %s  sender%d@example.org\n", i, mark, 1000+i%50000, base.Add(time.Duration(i)*time.Second).Format("Mon Jan _2 15:04:05"), i%97)
		for r := range 1 + i%3 {
			if q == "deferred" {
				fmt.Fprintf(&b, "%78s\n", "("+synthReasons[(i+r)%len(synthReasons)]+")")
			}
			fmt.Fprintf(&b, "%41s%s\n", "", fmt.Sprintf("user%d@dest%d.example", r, i%40))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "-- %d Kbytes in %d Requests.\n", n, n)
	return b.Bytes()
}

// BenchmarkParseShowq parses a 50 000-message queue; MB/s is of the
// payload as showq sends it.
//
//	go test -run '^$' -bench ParseShowq -benchmem ./pkg/collectors/postfixqueue/
func BenchmarkParseShowq(b *testing.B) {
	const n = 50000
	opt := textOptions{Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Loc: time.UTC}
	for _, bc := range []struct {
		name    string
		payload []byte
		domains bool
	}{
		{"3.x", synthShowq(n), false},
		{"3.x_top_domains", synthShowq(n), true},
		{"2.x_text", synthText(n), false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.payload)))
			b.ReportAllocs()
			for b.Loop() {
				tl := newTally(bc.domains)
				if err := parseShowq(bytes.NewReader(bc.payload), tl, opt); err != nil {
					b.Fatal(err)
				}
				if tl.queues[qDeferred].Messages == 0 {
					b.Fatal("nothing counted")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/message")
		})
	}
}

// BenchmarkReadShowqSocket is the whole showq path: dial a unix socket,
// stream 50 000 messages, parse.
func BenchmarkReadShowqSocket(b *testing.B) {
	payload := synthShowq(50000)
	spool := b.TempDir()
	serveShowq(b, spool, sendBytes(payload))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		tl := newTally(false)
		if err := readShowq(context.Background(), spool+"/public/showq", tl, time.Now); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseMemoryFlat: parsing allocates about the same for 1 000 and for
// 50 000 messages: nothing is kept per message. Not parallel:
// AllocsPerRun counts the whole process.
func TestParseMemoryFlat(t *testing.T) {
	allocs := func(payload []byte) float64 {
		return testing.AllocsPerRun(3, func() {
			if err := parseShowq(bytes.NewReader(payload), newTally(false), textOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(synthShowq(1000)), allocs(synthShowq(50000))
	if large > small+10 {
		t.Errorf("allocations grow with the queue: %v for 1k messages, %v for 50k", small, large)
	}
}
