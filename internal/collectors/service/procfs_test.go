// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		line    string
		want    procStat
		wantErr bool
	}{
		{
			name: "real cat",
			line: "27469 (cat) R 27467 27467 4297 0 -1 4194304 101 0 0 0 3 4 5 6 20 0 1 0 1309573 3133440 390 18446744073709551615 94750392786944 0 0\n",
			want: procStat{PID: 27469, Comm: "cat", State: 'R', PPID: 27467, Flags: 4194304, UTime: 3, STime: 4, CUTime: 5, CSTime: 6, StartTime: 1309573, RSSPages: 390},
		},
		{
			name: "comm with spaces and parentheses",
			line: "812 (amavisd (master) S 1 812 812 0 -1 4194624 1 0 0 0 10 20 0 0 20 0 1 0 500 1 77 0",
			want: procStat{PID: 812, Comm: "amavisd (master", State: 'S', PPID: 1, Flags: 4194624, UTime: 10, STime: 20, StartTime: 500, RSSPages: 77},
		},
		{
			name: "comm with a closing parenthesis",
			line: "9 (a) b) S 2 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0 0",
			want: procStat{PID: 9, Comm: "a) b", State: 'S', PPID: 2, Flags: 2129984, StartTime: 7},
		},
		{name: "truncated", line: "1 (init) S 0 1 1 0 -1 4194560 5 6", wantErr: true},
		{name: "no comm", line: "1 init S 0", wantErr: true},
		{name: "bad pid", line: "x (init) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0 0", wantErr: true},
		{name: "negative rss", line: "1 (init) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 7 0 -1 0", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStat([]byte(tc.line))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestKernelThread(t *testing.T) {
	t.Parallel()
	kthread, err := parseStat([]byte("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0 0"))
	if err != nil {
		t.Fatal(err)
	}
	if !kthread.kernelThread() || alive(kthread) {
		t.Error("kthreadd not recognised as a kernel thread")
	}
	user := procStat{Flags: 4194304, State: 'S'}
	if user.kernelThread() || !alive(user) {
		t.Error("a user process taken for a kernel thread")
	}
	if alive(procStat{State: 'Z'}) {
		t.Error("a zombie is not alive")
	}
}

func TestParsePidfile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int // 0: error
	}{
		{"         19753\n", 19753}, // Postfix: right-aligned in a fixed width
		{"19656\n", 19656},          // Dovecot, OpenDKIM, fail2ban
		{"42", 42},
		{"", 0},
		{"\n", 0},
		{"0\n", 0},
		{"-5\n", 0},
		{"12 34\n", 0},
		{"pid\n", 0},
	} {
		got, err := parsePidfile([]byte(tc.in))
		if tc.want == 0 {
			if err == nil {
				t.Errorf("%q: got %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseBootTime(t *testing.T) {
	t.Parallel()
	got, err := parseBootTime([]byte("cpu  1 2 3\nintr 5\nctxt 6\nbtime 1763880000\nprocesses 7\n"))
	if err != nil || got != 1763880000 {
		t.Errorf("got %d, %v, want 1763880000", got, err)
	}
	if _, err := parseBootTime([]byte("cpu 1 2 3\n")); err == nil {
		t.Error("no btime: want an error")
	}
}
