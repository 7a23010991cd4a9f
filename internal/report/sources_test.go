// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/logparse"
)

func touch(t *testing.T, path string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func TestLogFiles(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	live := filepath.Join(dir, "mail.log")
	touch(t, live, nil, now)
	touch(t, live+".1", nil, now.Add(-1*time.Hour))
	touch(t, live+".2.gz", gz(t, nil), now.Add(-25*time.Hour))
	touch(t, live+".10.gz", gz(t, nil), now.Add(-30*time.Hour))
	touch(t, live+".3.xz", nil, now.Add(-26*time.Hour))
	touch(t, filepath.Join(dir, "mail.log.old-notes"), nil, now)
	touch(t, filepath.Join(dir, "mail.err"), nil, now)
	other := filepath.Join(dir, "mail-traditional.log")
	touch(t, other, nil, now)
	touch(t, other+"-20261204.gz", gz(t, nil), now.Add(-48*time.Hour))
	touch(t, other+"-20261205", nil, now.Add(-24*time.Hour))

	files, skipped, err := LogFiles([]string{live, other}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{live + ".10.gz", live + ".2.gz", live + ".1", live, other + "-20261204.gz", other + "-20261205", other}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("files\n got %v\nwant %v", files, want)
	}
	if !reflect.DeepEqual(skipped, []string{live + ".3.xz"}) {
		t.Errorf("skipped %v", skipped)
	}
	// A day back: the files last written before are left out.
	files, _, err = LogFiles([]string{live}, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{live + ".1", live}; !reflect.DeepEqual(files, want) {
		t.Errorf("since a day: %v", files)
	}
	// A glob finds the live files and reads their siblings with them.
	files, _, err = LogFiles([]string{filepath.Join(dir, "mail*.log")}, now.Add(-24*time.Hour-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{other + "-20261205", other, live + ".1", live}; !reflect.DeepEqual(files, want) {
		t.Errorf("glob: %v", files)
	}
	// A missing live file with siblings still reads the siblings.
	os.Remove(live)
	files, _, _ = LogFiles([]string{live}, now.Add(-2*time.Hour))
	if want := []string{live + ".1"}; !reflect.DeepEqual(files, want) {
		t.Errorf("without the live file: %v", files)
	}
}

// The harness log cut in four, rotated by the real logrotate with compress
// and delaycompress after each of the first three parts: the report of the
// rotated files over a window equals the report of the original log over
// the same window, and older rotated files are left out by --since.
func TestLogrotate(t *testing.T) {
	logrotate, err := exec.LookPath("logrotate")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/logrotate"); err != nil {
			t.Skip("logrotate is not installed (test/harness/install.sh installs it)")
		}
		logrotate = "/usr/sbin/logrotate"
	}
	data, err := os.ReadFile(harnessLog)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	dir := t.TempDir()
	live := filepath.Join(dir, "mail.log")
	conf := filepath.Join(dir, "logrotate.conf")
	if err := os.WriteFile(conf, []byte(live+" {\n  rotate 10\n  compress\n  delaycompress\n  missingok\n  nocreate\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lastTime := func(part []string) time.Time {
		tm, ok := parseLine(strings.TrimSuffix(part[len(part)-1], "\n"))
		if !ok {
			t.Fatalf("no time in %q", part[len(part)-1])
		}
		return tm
	}
	q := len(lines) / 4
	parts := [][]string{lines[:q], lines[q : 2*q], lines[2*q : 3*q], lines[3*q:]}
	for i, p := range parts {
		// A log's modification time is its last write: the time of its last line.
		text := strings.Join(p, "")
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		touch(t, live, []byte(text), lastTime(p))
		if i == len(parts)-1 {
			break
		}
		out, err := exec.Command(logrotate, "--force", "--state", filepath.Join(dir, "state"), conf).CombinedOutput()
		if err != nil {
			t.Fatalf("logrotate: %v\n%s", err, out)
		}
	}
	for _, f := range []string{".3.gz", ".2.gz", ".1"} {
		if _, err := os.Stat(live + f); err != nil {
			t.Fatalf("logrotate did not write %s: %v", live+f, err)
		}
	}
	// The window starts in the second part: the first part's file is left
	// out if its time says so, and read (its lines outside the window)
	// otherwise, as gzip wrote it anew.
	since := lastTime(parts[1]).Add(-time.Second)
	until := lastTime(parts[3]).Add(-30 * time.Second)
	files, _, err := LogFiles([]string{live}, since)
	if err != nil {
		t.Fatal(err)
	}
	if files[len(files)-2] != live+".1" || files[len(files)-1] != live {
		t.Fatalf("files %v", files)
	}
	if err := os.Chtimes(live+".3.gz", lastTime(parts[0]), lastTime(parts[0])); err != nil {
		t.Fatal(err)
	}
	files, _, _ = LogFiles([]string{live}, since)
	if want := []string{live + ".2.gz", live + ".1", live}; !reflect.DeepEqual(files, want) {
		t.Fatalf("since %v: files %v", since, files)
	}

	opt := Options{Since: since, Until: until, Now: lastTime(parts[3]).Add(time.Hour)}
	rotated := build(t, opt, files...)
	// The original log, whole, over the same window.
	b, err := NewBuilder(defaultConfig(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Feed(context.Background(), "original", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	orig := b.Report(0)
	if orig.Totals["delivered"] == 0 || orig.OutsideWindow == 0 {
		t.Fatalf("the window should hold deliveries and leave lines out: %v, outside %d", orig.Totals, orig.OutsideWindow)
	}
	if !reflect.DeepEqual(rotated.Totals, orig.Totals) || rotated.Bytes != orig.Bytes ||
		!reflect.DeepEqual(rotated.DeliveryByDomain, orig.DeliveryByDomain) ||
		!reflect.DeepEqual(rotated.ReceivedByDomain, orig.ReceivedByDomain) ||
		!reflect.DeepEqual(rotated.Rejects, orig.Rejects) || !reflect.DeepEqual(rotated.Events, orig.Events) {
		t.Errorf("rotated files and the original disagree:\n%+v %+v\n%+v %+v", rotated.Totals, rotated.Bytes, orig.Totals, orig.Bytes)
	}
	if rotated.Lines-rotated.OutsideWindow != orig.Lines-orig.OutsideWindow {
		t.Errorf("lines in the window: rotated %d, original %d", rotated.Lines-rotated.OutsideWindow, orig.Lines-orig.OutsideWindow)
	}
}

// parseLine returns the time of a harness line as the report reads it.
func parseLine(line string) (time.Time, bool) {
	b, _ := NewBuilder(logparse.Config{}, Options{})
	b.Line([]byte(line))
	if b.first.IsZero() {
		return time.Time{}, false
	}
	return b.first, true
}
