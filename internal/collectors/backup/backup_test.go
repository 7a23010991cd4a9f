// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func testConfig(sets ...Set) Config {
	c := Config{Sets: sets}
	c.ApplyDefaults()
	return c
}

func noWait(ctx context.Context, _ time.Duration) error { return ctx.Err() }

var goldenNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func at(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }

var goldenSets = []Set{
	{Name: "mail_backup", Path: "/root/mail-backup-*.tar.gz", Verify: true, MinEntries: 3},
	{Name: "mailborder", Path: "/var/backups/mailborder/*.tar.gz"},
	{Name: "zst_backup", Path: "/srv/bk/*.tar.zst", Verify: true},
	{Name: "xz_backup", Path: "/srv/bk/*.tar.xz", Verify: true},
	{Name: "plain_tar", Path: "/srv/tar/*.tar", Verify: true},
	{Name: "sql_dump", Path: "/srv/dump/*.sql.gz", Verify: true, MinSizeBytes: 50},
	{Name: "absent", Path: "/srv/none/*.tar.gz", Verify: true},
}

// goldenTree holds the archives of goldenSets; bad replaces the newest
// archive of some sets with damaged ones.
func goldenTree(t *testing.T, bad bool) fstest.MapFS {
	tarball := tarBytes(t, 5, 3000)
	m := fstest.MapFS{
		"root/mail-backup-2026-11-19.tar.gz":  {Data: gzBytes(t, tarBytes(t, 4, 100)), ModTime: at(19, 3)},
		"root/mail-backup-2026-11-20.tar.gz":  {Data: gzBytes(t, tarBytes(t, 4, 200)), ModTime: at(20, 3)},
		"root/mail-backup-2026-11-21.tar.gz":  {Data: gzBytes(t, tarball), ModTime: at(21, 3)},
		"root/.mail-backup-partial.tar.gz":    {Data: []byte("hidden"), ModTime: at(21, 11)},
		"root/other.txt":                      {Data: []byte("not a backup"), ModTime: at(21, 4)},
		"var/backups/mailborder/a.tar.gz":     {Data: []byte("a"), ModTime: at(14, 2)},
		"var/backups/mailborder/b.tar.gz":     {Data: []byte("bb"), ModTime: at(21, 2)},
		"var/backups/mailborder/old.tar.gz/x": {Data: []byte("a directory is not a backup")},
		"srv/bk/mail.tar.zst":                 {Data: zstBytes(t, tarball), ModTime: at(21, 4)},
		"srv/bk/mail.tar.xz":                  {Data: xzBytes(t, tarball), ModTime: at(21, 5)},
		"srv/tar/mail.tar":                    {Data: tarball, ModTime: at(21, 6)},
		"srv/dump/mail-2026-11-21.sql.gz":     {Data: gzBytes(t, []byte(strings.Repeat("INSERT INTO t VALUES (1);\n", 50))), ModTime: at(21, 1)},
	}
	if bad {
		m["root/mail-backup-2026-11-21.tar.gz"].Data = flipped(gzBytes(t, tarball))
		m["srv/bk/mail.tar.zst"].Data = truncated(zstBytes(t, tarball))
		m["srv/bk/mail.tar.xz"].Data = flipped(xzBytes(t, tarball))
		m["srv/tar/mail.tar"].Data = truncated(tarball)
		m["srv/dump/mail-2026-11-21.sql.gz"].Data = gzBytes(t, []byte("tiny"))
	}
	return m
}

func goldenCollector(t *testing.T, fsys FS) *Collector {
	c := newCollector(testConfig(goldenSets...), fsys, func() time.Time { return goldenNow }, noWait, zap.NewNop())
	t.Cleanup(func() { c.Close() })
	return c
}

func TestGoldenSuccess(t *testing.T) {
	t.Parallel()
	c := goldenCollector(t, collectortest.MapFS{M: goldenTree(t, false)})
	collectortest.CheckGolden(t, c, "success", false)
}

// TestGoldenPartial: damaged archives (bit flipped in the middle,
// truncated), one too small, and a directory that cannot be listed are
// each reported; the rest is still there.
func TestGoldenPartial(t *testing.T) {
	t.Parallel()
	f := newFailFS(collectortest.MapFS{M: goldenTree(t, true)})
	f.fail["readdir /var/backups/mailborder"] = fs.ErrPermission
	c := goldenCollector(t, f)
	if err := collectortest.Golden(t, c, "partial"); err != nil {
		t.Fatalf("partial failure must not fail the run: %v", err)
	}
}

func TestGoldenTotalFailure(t *testing.T) {
	t.Parallel()
	f := newFailFS(collectortest.MapFS{M: goldenTree(t, false)})
	for _, d := range []string{"/root", "/var/backups/mailborder", "/srv/bk", "/srv/tar", "/srv/dump", "/srv/none"} {
		f.fail["readdir "+d] = fs.ErrPermission
	}
	if err := collectortest.Golden(t, goldenCollector(t, f), "total_failure"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("nothing listable: got %v, want a permission error", err)
	}
}

func TestNoSetsNotApplicable(t *testing.T) {
	t.Parallel()
	c := collectortest.New(t, New, testConfig(), nil)
	defer c.Close()
	if _, err := collectortest.Run(context.Background(), c); !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("no sets: got %v, want ErrNotApplicable", err)
	}
}

func TestVerifyStream(t *testing.T) {
	t.Parallel()
	tarball := tarBytes(t, 20, 2000)
	gz, xzd, zst := gzBytes(t, tarball), xzBytes(t, tarball), zstBytes(t, tarball)
	multi := append(gzBytes(t, tarball[:10240]), gzBytes(t, tarball[10240:])...)
	tests := []struct {
		name    string
		data    []byte
		format  string
		entries int64
		wantErr string
	}{
		{"tar.gz", gz, "tar.gz", 20, ""},
		{"tar.gz in two gzip members", multi, "tar.gz", 20, ""},
		{"tar.gz truncated", truncated(gz), "tar.gz", 0, "unexpected EOF"},
		{"tar.gz bit flipped", flipped(gz), "tar.gz", 0, ""},
		{"tar.gz with trailer cut", gz[:len(gz)-4], "tar.gz", 0, "unexpected EOF"},
		{"gzip of no tar", gzBytes(t, bytes.Repeat([]byte("not a tar header "), 100)), "tar.gz", 0, "tar header"},
		{"not gzip", []byte("PK\x03\x04 a zip file"), "tar.gz", 0, "gzip"},
		{"empty", nil, "tar.gz", 0, "gzip"},
		{"tar", tarball, "tar", 20, ""},
		{"tar truncated mid entry", truncated(tarball), "tar", 0, "unexpected EOF"},
		{"tar.xz", xzd, "tar.xz", 20, ""},
		{"tar.xz truncated", truncated(xzd), "tar.xz", 0, "EOF"},
		{"tar.zst", zst, "tar.zst", 20, ""},
		{"tar.zst bit flipped", flipped(zst), "tar.zst", 0, ""},
		{"gz", gzBytes(t, []byte("dump")), "gz", -1, ""},
		{"gz bit flipped", flipped(gz), "gz", 0, ""},
		{"xz", xzBytes(t, []byte("dump")), "xz", -1, ""},
		{"zst", zstBytes(t, []byte("dump")), "zst", -1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := verifyStream(bytes.NewReader(tc.data), tc.format)
			corrupt := strings.Contains(tc.name, "flipped") || tc.wantErr != ""
			switch {
			case corrupt && err == nil:
				t.Fatalf("damaged archive read as intact (%d entries)", entries)
			case corrupt && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q does not mention %q", err, tc.wantErr)
			case !corrupt && err != nil:
				t.Fatalf("intact archive: %v", err)
			case !corrupt && entries != tc.entries:
				t.Fatalf("%d entries, want %d", entries, tc.entries)
			}
		})
	}
}

// TestVerifyBzip2 uses the bzip2 tool, where installed, since the standard
// library only decompresses.
func TestVerifyBzip2(t *testing.T) {
	t.Parallel()
	bz, err := exec.LookPath("bzip2")
	if err != nil {
		t.Skip("bzip2 not installed")
	}
	cmd := exec.Command(bz, "-c")
	cmd.Stdin = bytes.NewReader(tarBytes(t, 7, 4000))
	data, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := verifyStream(bytes.NewReader(data), "tar.bz2"); err != nil || n != 7 {
		t.Errorf("intact tar.bz2: %d entries, %v", n, err)
	}
	if _, err := verifyStream(bytes.NewReader(truncated(data)), "tar.bz2"); err == nil {
		t.Error("truncated tar.bz2 read as intact")
	}
	if _, err := verifyStream(bytes.NewReader(flipped(data)), "tar.bz2"); err == nil {
		t.Error("bit-flipped tar.bz2 read as intact")
	}
}

// writeArchive writes data at path with the given mtime.
func writeArchive(t *testing.T, path string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// TestVerifiedOnceThenCached: an archive is read once; unchanged, it is
// not read again until verify_interval has passed; a new newest archive
// is read at once.
func TestVerifiedOnceThenCached(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := filepath.Join(dir, "mail-backup-1.tar.gz")
	writeArchive(t, first, gzBytes(t, tarBytes(t, 3, 100)), goldenNow.Add(-2*time.Hour))
	clk := &clock{t: goldenNow}
	f := newFailFS(OSFS{})
	c := newCollector(testConfig(Set{Name: "b", Path: dir + "/mail-backup-*.tar.gz", Verify: true}), f, clk.now, clk.wait, zap.NewNop())
	defer c.Close()
	step := func(name string, wantOpens map[string]int) {
		t.Helper()
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if got[`mailwatch_backup_verify_success{backup="b"}`] != 1 {
			t.Errorf("%s: not verified: %v", name, got)
		}
		for p, n := range wantOpens {
			if o := f.openCount(p); o != n {
				t.Errorf("%s: %s opened %d times, want %d", name, filepath.Base(p), o, n)
			}
		}
	}
	step("first run", map[string]int{first: 1})
	clk.advance(time.Hour)
	step("unchanged", map[string]int{first: 1})
	clk.advance(24 * time.Hour)
	step("after verify_interval", map[string]int{first: 2})
	second := filepath.Join(dir, "mail-backup-2.tar.gz")
	writeArchive(t, second, gzBytes(t, tarBytes(t, 3, 100)), clk.now().Add(-time.Hour))
	step("new archive", map[string]int{first: 2, second: 1})
}

// TestArchiveBeingWritten: the newest archive, modified within
// settle_time, is not verified yet; the newest settled one is, and the
// metrics say which.
func TestArchiveBeingWritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	older := goldenNow.Add(-24 * time.Hour)
	writeArchive(t, filepath.Join(dir, "a.tar.gz"), gzBytes(t, tarBytes(t, 2, 10)), older)
	writing := filepath.Join(dir, "b.tar.gz")
	writeArchive(t, writing, truncated(gzBytes(t, tarBytes(t, 2, 10))), goldenNow.Add(-time.Minute))
	f := newFailFS(OSFS{})
	c := newCollector(testConfig(Set{Name: "b", Path: dir + "/*.tar.gz", Verify: true}), f, func() time.Time { return goldenNow }, noWait, zap.NewNop())
	defer c.Close()
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if got[`mailwatch_backup_verify_success{backup="b"}`] != 1 || got[`mailwatch_backup_verified_file_timestamp_seconds{backup="b"}`] != float64(older.Unix()) ||
		got[`mailwatch_backup_newest_timestamp_seconds{backup="b"}`] != float64(goldenNow.Add(-time.Minute).Unix()) {
		t.Errorf("want the settled archive verified and the newest reported: %v", got)
	}
	if n := f.openCount(writing); n != 0 {
		t.Errorf("archive being written was opened %d times", n)
	}
}

// changingFS reports a different size for an open archive after it has
// been read, as when a backup job is still appending.
type changingFS struct{ FS }

type changingFile struct {
	File
	reads int
}

func (f *changingFile) Read(p []byte) (int, error) {
	f.reads++
	return f.File.Read(p)
}

func (f *changingFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	if err != nil || f.reads == 0 {
		return fi, err
	}
	return grownInfo{fi}, nil
}

type grownInfo struct{ fs.FileInfo }

func (g grownInfo) Size() int64 { return g.FileInfo.Size() + 1 }

func (c changingFS) Open(name string) (File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &changingFile{File: f}, nil
}

func TestArchiveChangedWhileRead(t *testing.T) {
	t.Parallel()
	c := goldenCollector(t, changingFS{collectortest.MapFS{M: goldenTree(t, false)}})
	for range 2 {
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := got[`mailwatch_backup_verify_timestamp_seconds{backup="mail_backup"}`]; ok || got[`mailwatch_backup_verify_success{backup="mail_backup"}`] != 0 {
			t.Errorf("an archive that changed while read got a verdict (%v): %v", v, got)
		}
	}
}

// TestPacer: reading 10 MiB at 1 MiB/s waits 10 s in total (on a fake
// clock), in steps of at most one chunk's worth.
func TestPacer(t *testing.T) {
	t.Parallel()
	clk := &clock{t: goldenNow}
	var steps []time.Duration
	wait := func(ctx context.Context, d time.Duration) error {
		steps = append(steps, d)
		return clk.wait(ctx, d)
	}
	p := &pacer{ctx: context.Background(), r: bytes.NewReader(make([]byte, 10<<20)), rate: 1 << 20, start: clk.now(), now: clk.now, wait: wait}
	n, err := io.Copy(io.Discard, onlyReader{p})
	if err != nil || n != 10<<20 {
		t.Fatalf("read %d, %v", n, err)
	}
	if clk.waited != 10*time.Second {
		t.Errorf("waited %s, want 10s", clk.waited)
	}
	for _, d := range steps {
		if d > time.Second/4 {
			t.Errorf("one wait of %s, want at most a quarter second (256 KiB at 1 MiB/s)", d)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p = &pacer{ctx: ctx, r: bytes.NewReader(make([]byte, 100)), rate: 1, start: clk.now(), now: clk.now, wait: clk.wait}
	if _, err := p.Read(make([]byte, 10)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pacer read: %v", err)
	}
}

// blockingFS hangs in ReadDir, or in reading an archive, until released.
type blockingFS struct {
	FS
	blockList bool
	release   chan struct{}
}

func (b blockingFS) ReadDir(name string, fn func([]fs.DirEntry) error) error {
	if b.blockList {
		<-b.release
	}
	return b.FS.ReadDir(name, fn)
}

func (b blockingFS) Open(name string) (File, error) {
	f, err := b.FS.Open(name)
	if err != nil || b.blockList {
		return f, err
	}
	return blockingFile{File: f, release: b.release}, nil
}

type blockingFile struct {
	File
	release chan struct{}
}

func (f blockingFile) Read(p []byte) (int, error) {
	<-f.release
	return f.File.Read(p)
}

// TestCtxListingHangs: a listing stuck in a dead mount makes Update return
// once ctx is done, and no second listing starts while it is stuck.
func TestCtxListingHangs(t *testing.T) {
	t.Parallel()
	b := blockingFS{FS: collectortest.MapFS{M: goldenTree(t, false)}, blockList: true, release: make(chan struct{})}
	c := goldenCollector(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := collectortest.Run(ctx, c); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung listing: got %v, want DeadlineExceeded", err)
	}
	if _, err := collectortest.Run(context.Background(), c); !errors.Is(err, collectors.ErrBusy) {
		t.Fatalf("second run during the hang: got %v, want collectors.ErrBusy", err)
	}
	close(b.release)
	collectortest.Eventually(t, "the listing returned after the mount came back", func() bool { return !c.listing.Busy() })
	if _, err := collectortest.Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// TestCtxVerificationOutlivesRun: a verification that takes longer than
// the run does not hold the run: Update returns before its deadline with
// the listing, and the verdict appears in a later run.
func TestCtxVerificationOutlivesRun(t *testing.T) {
	t.Parallel()
	b := blockingFS{FS: collectortest.MapFS{M: goldenTree(t, false)}, release: make(chan struct{})}
	c := goldenCollector(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	got, err := collectortest.Run(ctx, c)
	if err != nil || ctx.Err() != nil {
		t.Fatalf("run must end before its deadline without error: %v (ctx %v)", err, ctx.Err())
	}
	if got[`mailwatch_backup_files{backup="mail_backup"}`] != 3 || got[`mailwatch_backup_verify_success{backup="mail_backup"}`] != 0 {
		t.Errorf("listing missing or verdict invented: %v", got)
	}
	close(b.release)
	c.wg.Wait()
	got, err = collectortest.Run(context.Background(), c)
	if err != nil || got[`mailwatch_backup_verify_success{backup="mail_backup"}`] != 1 {
		t.Errorf("verdict of the background verification missing: %v %v", err, got)
	}
}

// slowFS serves an archive one small read at a time.
type slowFS struct{ FS }

type slowFile struct{ File }

func (f slowFile) Read(p []byte) (int, error) { return f.File.Read(p[:min(len(p), 512)]) }

func (s slowFS) Open(name string) (File, error) {
	f, err := s.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return slowFile{f}, nil
}

// TestCloseStopsVerificationMidRead: a verification paced to take minutes
// stops between two reads once the collector is closed.
func TestCloseStopsVerificationMidRead(t *testing.T) {
	t.Parallel()
	cfg := testConfig(goldenSets[0])
	cfg.VerifyReadBytesPerSecond = minVerifyRate // the ~60 KB archive takes about a second
	var reads sync.Once
	started := make(chan struct{})
	wait := func(ctx context.Context, d time.Duration) error {
		reads.Do(func() { close(started) })
		return sleepCtx(ctx, d)
	}
	c := newCollector(cfg, slowFS{collectortest.MapFS{M: goldenTree(t, false)}}, time.Now, wait, zap.NewNop())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := collectortest.Run(ctx, c); err != nil {
		t.Fatal(err)
	}
	<-started
	c.Close()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.verdicts["mail_backup"]; v != nil {
		t.Errorf("a cancelled verification left a verdict: %+v", v)
	}
}

func TestFormatFromName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"/root/mail-backup-*.tar.gz": "tar.gz", "x.tgz": "tar.gz", "x.tar.bz2": "tar.bz2", "x.tbz2": "tar.bz2",
		"x.tar.xz": "tar.xz", "x.txz": "tar.xz", "x.tar.zst": "tar.zst", "x.tzst": "tar.zst", "x.tar": "tar",
		"dump.sql.gz": "gz", "x.bz2": "bz2", "x.xz": "xz", "x.zst": "zst", "x.zip": "", "/b/*": "",
	} {
		if got := formatFromName(name); got != want {
			t.Errorf("formatFromName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestInheritKeepsVerdicts: a reload keeps the verdicts of unchanged sets
// and verifies again the sets whose settings changed.
func TestInheritKeepsVerdicts(t *testing.T) {
	t.Parallel()
	f := newFailFS(collectortest.MapFS{M: goldenTree(t, false)})
	old := goldenCollector(t, f)
	if _, err := collectortest.Run(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	sets := append([]Set(nil), goldenSets...)
	sets[2].MinEntries = 1 // zst_backup changed
	c := newCollector(testConfig(sets...), f, func() time.Time { return goldenNow }, noWait, zap.NewNop())
	defer c.Close()
	c.Inherit(old)
	if _, err := collectortest.Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if n := f.openCount("/root/mail-backup-2026-11-21.tar.gz"); n != 1 {
		t.Errorf("unchanged set read %d times over the reload, want 1", n)
	}
	if n := f.openCount("/srv/bk/mail.tar.zst"); n != 2 {
		t.Errorf("changed set read %d times over the reload, want 2", n)
	}
}
