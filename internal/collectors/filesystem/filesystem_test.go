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
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// fakeStatter answers from a table; a path mapped to block hangs until
// release is closed.
type fakeStatter struct {
	mu      sync.Mutex
	usage   map[string]Usage
	errs    map[string]error
	block   map[string]bool
	release chan struct{}
	calls   map[string]int
}

func (f *fakeStatter) Stat(p string) (Usage, error) {
	f.mu.Lock()
	f.calls[p]++
	blk := f.block[p]
	f.mu.Unlock()
	if blk {
		<-f.release
	}
	if err := f.errs[p]; err != nil {
		return Usage{}, err
	}
	return f.usage[p], nil
}

func (f *fakeStatter) count(p string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[p]
}

func newFake() *fakeStatter {
	return &fakeStatter{usage: map[string]Usage{}, errs: map[string]error{}, block: map[string]bool{}, release: make(chan struct{}), calls: map[string]int{}}
}

func cfg(paths ...string) Config { return Config{Paths: paths} }

func TestUpdateGolden(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.usage["/var/spool/postfix"] = Usage{SizeBytes: 1000, AvailBytes: 250, Files: 100, FilesFree: 40, Mountpoint: "/var"}
	f.usage["/var/log"] = Usage{SizeBytes: 2000, AvailBytes: 0, Files: 10, FilesFree: 0, ReadOnly: true, Mountpoint: "/"}
	f.errs["/var/mail"] = fmt.Errorf("statfs /var/mail: %w", fs.ErrNotExist)
	c := NewWithStatter(cfg("/var/spool/postfix", "/var/mail", "/var/log"), f, zap.NewNop())
	want := `
# HELP mailwatch_filesystem_avail_bytes Bytes available to unprivileged users on the filesystem holding the path. Refreshed every collectors.filesystem.interval.
# TYPE mailwatch_filesystem_avail_bytes gauge
mailwatch_filesystem_avail_bytes{mountpoint="/",path="/var/log"} 0
mailwatch_filesystem_avail_bytes{mountpoint="/var",path="/var/spool/postfix"} 250
# HELP mailwatch_filesystem_files Total inodes of the filesystem holding the path. Refreshed every collectors.filesystem.interval.
# TYPE mailwatch_filesystem_files gauge
mailwatch_filesystem_files{mountpoint="/",path="/var/log"} 10
mailwatch_filesystem_files{mountpoint="/var",path="/var/spool/postfix"} 100
# HELP mailwatch_filesystem_files_free Free inodes of the filesystem holding the path. Refreshed every collectors.filesystem.interval.
# TYPE mailwatch_filesystem_files_free gauge
mailwatch_filesystem_files_free{mountpoint="/",path="/var/log"} 0
mailwatch_filesystem_files_free{mountpoint="/var",path="/var/spool/postfix"} 40
# HELP mailwatch_filesystem_readonly 1 if the filesystem holding the path is mounted read-only. Refreshed every collectors.filesystem.interval.
# TYPE mailwatch_filesystem_readonly gauge
mailwatch_filesystem_readonly{mountpoint="/",path="/var/log"} 1
mailwatch_filesystem_readonly{mountpoint="/var",path="/var/spool/postfix"} 0
# HELP mailwatch_filesystem_size_bytes Size of the filesystem holding the path, in bytes. Refreshed every collectors.filesystem.interval.
# TYPE mailwatch_filesystem_size_bytes gauge
mailwatch_filesystem_size_bytes{mountpoint="/",path="/var/log"} 2000
mailwatch_filesystem_size_bytes{mountpoint="/var",path="/var/spool/postfix"} 1000
# HELP mailwatch_filesystem_stat_success 1 if the last statfs of the path succeeded, 0 if it failed or hung. Refreshed every collectors.filesystem.interval.
# TYPE mailwatch_filesystem_stat_success gauge
mailwatch_filesystem_stat_success{path="/var/log"} 1
mailwatch_filesystem_stat_success{path="/var/mail"} 0
mailwatch_filesystem_stat_success{path="/var/spool/postfix"} 1
`
	collectortest.Compare(t, c, want)
	collectortest.Lint(t, c)
}

func TestAllAbsentIsNotApplicable(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.errs["/a"] = fs.ErrNotExist
	f.errs["/b"] = fs.ErrNotExist
	c := NewWithStatter(cfg("/a", "/b"), f, zap.NewNop())
	a := &collectortest.Adapter{C: c}
	collectortest.Compare(t, a.C, `
# HELP mailwatch_filesystem_stat_success 1 if the last statfs of the path succeeded, 0 if it failed or hung. Refreshed every collectors.filesystem.interval.
# TYPE mailwatch_filesystem_stat_success gauge
mailwatch_filesystem_stat_success{path="/a"} 0
mailwatch_filesystem_stat_success{path="/b"} 0
`)
	err := runOnce(c, context.Background())
	if !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("all paths absent: got %v, want ErrNotApplicable", err)
	}
	f.errs["/b"] = errors.New("permission denied")
	if err := runOnce(c, context.Background()); err == nil || errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("all paths failing, not all absent: got %v, want a plain error", err)
	}
}

func runOnce(c *Collector, ctx context.Context) error {
	ch := make(chan prometheusMetric, 100)
	err := c.Update(ctx, ch)
	close(ch)
	return err
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
		ch := make(chan prometheusMetric, 100)
		err := c.Update(ctx, ch)
		cancel()
		close(ch)
		if err != nil {
			t.Fatalf("run %d: one path measured, want no error, got %v", run, err)
		}
		got := map[string]bool{}
		for m := range ch {
			got[metricString(m)] = true
		}
		if !got[`mailwatch_filesystem_stat_success path=/nfs 0`] || !got[`mailwatch_filesystem_stat_success path=/var/log 1`] {
			t.Fatalf("run %d: want /nfs failed and /var/log measured, got %v", run, got)
		}
	}
	if n := f.count("/nfs"); n != 1 {
		t.Errorf("hung path was called %d times, want 1 (no retry while stuck)", n)
	}
	close(f.release) // the mount comes back
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		stuck := c.stuck["/nfs"]
		c.mu.Unlock()
		if !stuck {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("path still marked stuck after its call returned")
		}
		time.Sleep(time.Millisecond)
	}
	f.mu.Lock()
	f.block["/nfs"] = false
	f.usage["/nfs"] = Usage{SizeBytes: 5, Mountpoint: "/nfs"}
	f.mu.Unlock()
	if err := runOnce(c, context.Background()); err != nil {
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

func TestValidate(t *testing.T) {
	t.Parallel()
	c := Config{Paths: []string{"/ok", "rel", "/a/../b", "/ok"}}
	var msgs []string
	for _, e := range c.Validate() {
		msgs = append(msgs, e.Error())
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{`paths[1]: must be an absolute path`, `paths[2]: "/a/../b" is not clean`, `paths[3]: "/ok" is listed twice`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if n := len(msgs); n != 3 {
		t.Errorf("got %d problems, want 3", n)
	}
}
