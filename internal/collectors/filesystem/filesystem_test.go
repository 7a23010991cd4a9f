// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestGolden(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.usage["/var/spool/postfix"] = Usage{SizeBytes: 1000, AvailBytes: 250, Files: 100, FilesFree: 40, Mountpoint: "/var"}
	f.usage["/var/log"] = Usage{SizeBytes: 2000, AvailBytes: 0, Files: 10, FilesFree: 0, ReadOnly: true, Mountpoint: "/"}
	f.errs["/var/mail"] = fmt.Errorf("statfs /var/mail: %w", fs.ErrNotExist)
	c := NewWithStatter(cfg("/var/spool/postfix", "/var/mail", "/var/log"), f, zap.NewNop())
	collectortest.CheckGolden(t, c, "success", false)
}

func TestAllAbsentIsNotApplicable(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.errs["/a"] = fs.ErrNotExist
	f.errs["/b"] = fs.ErrNotExist
	c := NewWithStatter(cfg("/a", "/b"), f, zap.NewNop())
	collectortest.Compare(t, c, `
# HELP mailwatch_filesystem_stat_success 1 if the last statfs of the path succeeded, 0 if it failed or hung. Refreshed every collectors.filesystem.interval.
# TYPE mailwatch_filesystem_stat_success gauge
mailwatch_filesystem_stat_success{path="/a"} 0
mailwatch_filesystem_stat_success{path="/b"} 0
`)
	_, err := collectortest.Run(t.Context(), c)
	if !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("all paths absent: got %v, want ErrNotApplicable", err)
	}
	f.errs["/b"] = errors.New("permission denied")
	if _, err := collectortest.Run(t.Context(), c); err == nil || errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("all paths failing, not all absent: got %v, want a plain error", err)
	}
}

// TestHungPathDoesNotBlockNorRepeat: a statfs that never returns makes the
// run report the path as failed at the deadline, the other paths still get
// measured, and no second call is made for the hung path until it returns.
func TestHungPathDoesNotBlockNorRepeat(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.block["/nfs"] = true
	f.usage["/var/log"] = Usage{SizeBytes: 1, Mountpoint: "/"}
	c := NewWithStatter(cfg("/nfs", "/var/log"), f, zap.NewNop())

	for run := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		got, err := collectortest.Run(ctx, c)
		cancel()
		if err != nil {
			t.Fatalf("run %d: one path measured, want no error, got %v", run, err)
		}
		nfs, ok := got[`mailwatch_filesystem_stat_success{path="/nfs"}`]
		if !ok || nfs != 0 || got[`mailwatch_filesystem_stat_success{path="/var/log"}`] != 1 {
			t.Fatalf("run %d: want /nfs failed and /var/log measured, got %v", run, got)
		}
	}
	if n := f.count("/nfs"); n != 1 {
		t.Errorf("hung path was called %d times, want 1 (no retry while stuck)", n)
	}
	close(f.release) // the mount comes back
	collectortest.Eventually(t, "the hung path's guard is free after its call returned", func() bool { return !c.guards["/nfs"].Busy() })
	f.mu.Lock()
	f.block["/nfs"] = false
	f.usage["/nfs"] = Usage{SizeBytes: 5, Mountpoint: "/nfs"}
	f.mu.Unlock()
	if _, err := collectortest.Run(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if n := f.count("/nfs"); n != 2 {
		t.Errorf("recovered path called %d times, want 2", n)
	}
}

func TestOSStatterRealDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	u, err := OSStatter{}.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if u.SizeBytes <= 0 || u.Files < 0 || u.AvailBytes > u.SizeBytes || u.Mountpoint == "" {
		t.Errorf("implausible usage for %s: %+v", dir, u)
	}
	if _, err := (OSStatter{}).Stat(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing path: got %v, want ErrNotExist", err)
	}
}

func TestMountpoints(t *testing.T) {
	t.Parallel()
	mi := filepath.Join(t.TempDir(), "mountinfo")
	data := `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 8:2 / /var rw,relatime shared:2 - ext4 /dev/sda2 rw
24 23 0:5 / /var/spool/post\040office rw - tmpfs tmpfs rw
25 22 8:3 / /varnish rw - ext4 /dev/sda3 rw
bad line
`
	if err := os.WriteFile(mi, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	mps, err := readMountpoints(mi)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"/var/log", "/var"},
		{"/var", "/var"},
		{"/varnish/x", "/varnish"},
		{"/variable", "/"},
		{"/var/spool/post office/q", "/var/spool/post office"},
		{"/home", "/"},
	}
	for _, tc := range tests {
		if got := mountpointOf(tc.path, mps); got != tc.want {
			t.Errorf("mountpointOf(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	if got := unescapeOctal(`a\134b\04`); got != `a\b\04` {
		t.Errorf("unescapeOctal = %q", got)
	}
}
