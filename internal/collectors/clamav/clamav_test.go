// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package clamav

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// Headers in the shapes freshclam leaves on disk.
const (
	// a .cvd as downloaded: digest and signature filled in.
	mainHeader = "ClamAV-VDB:16 Sep 2021 08-32 -0400:62:6647427:90:6a2ee6b0c5d2e2a8d2e3d4f1b2c3a4d5:" +
		"ZrVjAm3bS4kYdo7kcwm3ePNmKlMn1Ht9Ly5bWjRzQ0pPS0NJT0RFTUFJTFdBVENIRDEyMzQ1Njc4OTAxMjM0NTY3ODkw:sigmgr:1631795529"
	// a .cld after freshclam applied a diff: no digest, no signature.
	dailyCLDHeader = "ClamAV-VDB:23 Nov 2026 08-25 +0000:27830:2077500:90:X:X:raynman:1795422300"
	// the same database one version older, as a .cvd.
	dailyCVDHeader = "ClamAV-VDB:22 Nov 2026 08-25 +0000:27829:2077480:90:0123456789abcdef0123456789abcdef:sig:raynman:1795335900"
	// a very old header, without the Unix build time.
	bytecodeHeader = "ClamAV-VDB:14 Mar 2024 10-05 +0000:335:86:90:0123456789abcdef0123456789abcdef:sig:raynman"
)

func TestParseHeader(t *testing.T) {
	t.Parallel()
	sigtoolBuilt, err := os.ReadFile("testdata/sigtool-1.4.6-daily.cud")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      []byte
		want    Header
		wantErr string
	}{
		{"built by sigtool 1.4.6 (--unsigned)", sigtoolBuilt[:HeaderSize],
			Header{BuildTime: time.Unix(1795421362, 0).UTC(), Version: 27830, Signatures: 2, FunctionalityLevel: 216, Builder: "mwtest"}, ""},
		{"signed cvd", header(mainHeader),
			Header{BuildTime: time.Unix(1631795529, 0).UTC(), Version: 62, Signatures: 6647427, FunctionalityLevel: 90, Builder: "sigmgr"}, ""},
		{"cld rewritten by freshclam", header(dailyCLDHeader),
			Header{BuildTime: time.Unix(1795422300, 0).UTC(), Version: 27830, Signatures: 2077500, FunctionalityLevel: 90, Builder: "raynman"}, ""},
		{"old header: time from the text", header(bytecodeHeader),
			Header{BuildTime: time.Unix(1710410700, 0).UTC(), Version: 335, Signatures: 86, FunctionalityLevel: 90, Builder: "raynman"}, ""},
		{"text time with offset", header("ClamAV-VDB:16 Sep 2021 08-32 -0400:62:1:90:m:s:b"),
			Header{BuildTime: time.Unix(1631795520, 0).UTC(), Version: 62, Signatures: 1, FunctionalityLevel: 90, Builder: "b"}, ""},
		{"zero unix time falls back to the text", header("ClamAV-VDB:14 Mar 2024 10-05 +0000:1:2:3:m:s:b:0"),
			Header{BuildTime: time.Unix(1710410700, 0).UTC(), Version: 1, Signatures: 2, FunctionalityLevel: 3, Builder: "b"}, ""},
		{"NUL padding", append([]byte(dailyCLDHeader), make([]byte, HeaderSize-len(dailyCLDHeader))...),
			Header{BuildTime: time.Unix(1795422300, 0).UTC(), Version: 27830, Signatures: 2077500, FunctionalityLevel: 90, Builder: "raynman"}, ""},
		{"not a database", header("<html>404 Not Found</html>"), Header{}, "not a ClamAV database"},
		{"gzip body without header", append([]byte{0x1f, 0x8b}, make([]byte, HeaderSize-2)...), Header{}, "not a ClamAV database"},
		{"too few fields", header("ClamAV-VDB:14 Mar 2024 10-05 +0000:1:2:3"), Header{}, "at least 8"},
		{"bad version", header("ClamAV-VDB:14 Mar 2024 10-05 +0000:x1:2:3:m:s:b:1"), Header{}, `unreadable version "x1"`},
		{"negative signatures", header("ClamAV-VDB:14 Mar 2024 10-05 +0000:1:-2:3:m:s:b:1"), Header{}, "unreadable signature count"},
		{"bad level", header("ClamAV-VDB:14 Mar 2024 10-05 +0000:1:2::m:s:b:1"), Header{}, "unreadable functionality level"},
		{"no usable time", header("ClamAV-VDB:yesterday:1:2:3:m:s:b"), Header{}, `unreadable build time "yesterday"`},
		{"short", []byte("ClamAV-VDB:"), Header{}, "header is 11 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseHeader(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{mainHeader, dailyCLDHeader, bytecodeHeader, "ClamAV-VDB::::::::", "ClamAV-VDB:1:2:3:4:5:6:7:8:9:10"} {
		f.Add(header(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < HeaderSize {
			b = append(b, bytes.Repeat([]byte{' '}, HeaderSize-len(b))...)
		}
		h, err := ParseHeader(b[:HeaderSize])
		if err != nil {
			return
		}
		if h.BuildTime.IsZero() {
			t.Errorf("parsed header without a build time: %+v", h)
		}
		if !bytes.HasPrefix(b, []byte(headerMagic)) {
			t.Errorf("accepted a header without the magic: %q", b[:20])
		}
	})
}

func TestFileSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeDB(t, dir, "main.cvd", mainHeader)
	writeDB(t, dir, "daily.cvd", dailyCVDHeader) // older, left over
	writeDB(t, dir, "daily.cld", dailyCLDHeader)
	if err := os.WriteFile(filepath.Join(dir, "bytecode.cvd"), header(bytecodeHeader)[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	writeDB(t, dir, "junk.cvd", "<html>blocked by proxy</html>")
	writeDB(t, dir, "mixed.cvd", mainHeader)
	writeDB(t, dir, "mixed.cld", "ClamAV-VDB:garbage")

	src := FileSource{}
	if err := src.CheckDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := src.CheckDir(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: got %v, want ErrNotExist", err)
	}
	if err := src.CheckDir(filepath.Join(dir, "main.cvd")); err == nil {
		t.Error("a file as directory: want an error")
	}
	got, err := src.Read(dir, "daily")
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Version != 27830 || got.File != filepath.Join(dir, "daily.cld") {
		t.Errorf("daily: got %s version %d, want daily.cld version 27830", got.File, got.Header.Version)
	}
	for name, want := range map[string]string{
		"bytecode": "truncated: 100 bytes",
		"junk":     "not a ClamAV database",
		"mixed":    "mixed.cld: header has 2 fields",
		"extra":    "no extra.cvd, extra.cld or extra.cud",
	} {
		_, err := src.Read(dir, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want error containing %q", name, err, want)
		}
	}
	if _, err := src.Read(dir, "extra"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing database: got %v, want ErrNotExist", err)
	}
}

func newCollector(t *testing.T, dir string, names ...string) *Collector {
	t.Helper()
	cfg := Config{DatabaseDir: dir, Databases: names}
	cfg.ApplyDefaults()
	return collectortest.New(t, New, cfg, nil)
}

func TestGolden(t *testing.T) {
	t.Parallel()
	full := t.TempDir()
	writeDB(t, full, "main.cvd", mainHeader)
	writeDB(t, full, "daily.cld", dailyCLDHeader)
	writeDB(t, full, "bytecode.cvd", bytecodeHeader)

	partial := t.TempDir()
	writeDB(t, partial, "main.cvd", mainHeader)
	writeDB(t, partial, "daily.cld", "ClamAV-VDB:23 Nov 2026 08-25 +0000:27830")
	// bytecode missing

	empty := t.TempDir() // ClamAV installed, freshclam never succeeded

	tests := []struct {
		name, dir string
		wantErr   bool
	}{
		{"success", full, false},
		{"partial", partial, false},
		{"total_failure", empty, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCollector(t, tc.dir)
			err := collectortest.CheckGolden(t, c, tc.name, tc.wantErr)
			if errors.Is(err, collectors.ErrNotApplicable) {
				t.Errorf("an existing directory is not 'not applicable': %v", err)
			}
		})
	}
}

func TestAbsentDirIsNotApplicable(t *testing.T) {
	t.Parallel()
	c := newCollector(t, filepath.Join(t.TempDir(), "clamav"))
	ch := make(chan prometheus.Metric, 16)
	err := c.Update(context.Background(), ch)
	if !errors.Is(err, collectors.ErrNotApplicable) {
		t.Fatalf("got %v, want ErrNotApplicable", err)
	}
	if len(ch) != 0 {
		t.Errorf("not applicable run sent %d metrics, want none", len(ch))
	}
}

// TestLogsOnChangeOnly: a broken database is logged when it breaks, not
// every interval, and its repair is logged once.
func TestLogsOnChangeOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeDB(t, dir, "main.cvd", mainHeader)
	core, logs := observer.New(zapcore.InfoLevel)
	cfg := Config{DatabaseDir: dir, Databases: []string{"main", "daily"}}
	c := NewWithSource(cfg, FileSource{}, zap.New(core))
	run := func() {
		ch := make(chan prometheus.Metric, 16)
		if err := c.Update(context.Background(), ch); err != nil {
			t.Fatal(err)
		}
	}
	run()
	run()
	writeDB(t, dir, "daily.cld", dailyCLDHeader)
	run()
	run()
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Message+" "+e.ContextMap()["database"].(string))
	}
	want := []string{"cannot read clamav database header daily", "clamav database readable again daily"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("logs (-want +got)\n%s", diff)
	}
}

// blockingSource hangs in CheckDir until release is closed.
type blockingSource struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSource) CheckDir(string) error {
	b.entered <- struct{}{}
	<-b.release
	return nil
}

func (b *blockingSource) Read(string, string) (Database, error) {
	return Database{Header: Header{BuildTime: time.Unix(1, 0), Version: 1}}, nil
}

// TestContextEndsHungRead: a read that never returns makes Update return
// once its context is done, and the next run does not pile another read on
// top of the stuck one.
func TestContextEndsHungRead(t *testing.T) {
	t.Parallel()
	src := &blockingSource{entered: make(chan struct{}, 2), release: make(chan struct{})}
	c := NewWithSource(Config{DatabaseDir: "/x", Databases: []string{"main"}}, src, zap.NewNop())
	collectortest.HungRun(t, c, src.entered)
	close(src.release)
	collectortest.Eventually(t, "the read returned and the guard is free", func() bool { return !c.guard.Busy() })
	if _, err := collectortest.Run(t.Context(), c); err != nil {
		t.Fatalf("after the read returned: %v", err)
	}
}
