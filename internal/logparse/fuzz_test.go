// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// FuzzParse and FuzzClassify are in maillog/fuzz_test.go.

// FuzzReplay: whole inputs, with line breaks and JSON, never panic and
// every line is counted once.
func FuzzReplay(f *testing.F) {
	f.Add([]byte("Nov 22 05:34:01 h p[1]: a\nb\n{\"MESSAGE\":\"x\"}\n"))
	f.Add([]byte("{\"MESSAGE\":[1,2,3],\"SYSLOG_IDENTIFIER\":[\"a\",\"b\"]}\n{\"__CURSOR\":5}\n"))
	f.Add([]byte("\n\n\r\n"))
	// Lines over the 64 KiB limit, ended and unended (the follower's case of
	// one still incomplete at a checkpoint is TestOversizedLineAcrossRestart).
	f.Add([]byte("Nov 22 05:34:01 h p[1]: " + strings.Repeat("x", 70<<10) + "\nNov 22 05:34:02 h p[1]: b\n"))
	f.Add([]byte("a\n" + strings.Repeat("y", 200<<10)))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReplayer(Config{}, "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Feed(context.Background(), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		want := uint64(bytes.Count(data, []byte{'\n'}))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			want++
		}
		if got := r.src.lines.Load(); got != want {
			t.Fatalf("lines = %d, want %d", got, want)
		}
	})
}
