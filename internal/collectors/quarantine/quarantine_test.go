// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package quarantine

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

var (
	t1 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	t2 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	t3 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
)

// host lays out an amavis quarantine with one level of subdirectories
// ($quarantine_subdir_levels = 1), two users' .Junk Maildir folders with
// Dovecot's index files beside cur/ and new/, and a message in tmp/.
func host(t *testing.T) string {
	root := t.TempDir()
	v := filepath.Join(root, "amavis", "virusmails")
	file(t, v+"/virus-20261101-100000-1234-01", 1000, t2)
	file(t, v+"/a/spam-abcdefgh.gz", 200, t1)
	file(t, v+"/b/banned-xyz", 30, t3)
	file(t, v+"/.hidden", 5, t1)
	file(t, v+"/a/b/c/too-deep", 7, t1) // depth 3 with max_depth 2
	j1 := filepath.Join(root, "vhosts", "example.org", "alice", ".Junk")
	j2 := filepath.Join(root, "vhosts", "example.net", "bob", ".Junk")
	file(t, j1+"/cur/1700000000.M1P2.host,S=500:2,S", 500, t2)
	file(t, j1+"/new/1700000001.M1P3.host", 400, t3)
	file(t, j1+"/tmp/1700000002.M1P4.host", 9999, t1)
	file(t, j1+"/dovecot.index", 9999, t1)
	file(t, j1+"/dovecot-uidlist", 99, t1)
	file(t, j2+"/cur/1699000000.M1P2.host:2,", 100, t1)
	mkdir(t, j2+"/new", filepath.Join(root, "vhosts", "example.net", "carol")) // carol has no Junk
	return root
}

func TestGolden(t *testing.T) {
	t.Parallel()
	root := host(t)
	c := cfg(
		Set{Name: "amavis", Paths: []string{root + "/amavis/virusmails"}},
		Set{Name: "junk", Paths: []string{root + "/vhosts/*/*/.Junk", root + "/vhosts/example.org/alice/.Junk"}},
		Set{Name: "missing", Paths: []string{root + "/spam-quarantine"}},
	)
	c.MaxDepth = 2
	col := newCollector(c, collectors.OSFS{}, time.Now, zap.NewNop())
	collectortest.CheckGolden(t, col, "success", false)
}

// TestUnchangedCostsStats: a second run over unchanged directories lists
// nothing and stats each directory once; a new message in one directory
// costs one listing of that directory and is counted.
func TestUnchangedCostsStats(t *testing.T) {
	t.Parallel()
	root := host(t)
	v := root + "/amavis/virusmails"
	j1 := root + "/vhosts/example.org/alice/.Junk"
	settle(t, v, v+"/a", v+"/b", v+"/a/b", v+"/a/b/c", j1, j1+"/cur", j1+"/new", root+"/vhosts/example.net/bob/.Junk", root+"/vhosts/example.net/bob/.Junk/cur", root+"/vhosts/example.net/bob/.Junk/new")
	fsys := newCountingFS()
	c := newCollector(cfg(Set{Name: "amavis", Paths: []string{v}}, Set{Name: "junk", Paths: []string{root + "/vhosts/*/*/.Junk"}}), fsys, time.Now, zap.NewNop())
	first, err := collectortest.Run(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	fsys.counts()
	second, err := collectortest.Run(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	stat, readdir, info := fsys.counts()
	// The glob lists vhosts/ and each domain (3 listings); the directories
	// measured are stat'ed once each: virusmails, a, b, a/b, a/b/c, and
	// per .Junk the folder, cur and new; and carol/.Junk, which is not there.
	if readdir != 3 || info != 0 || stat != 5+2*3+1 {
		t.Errorf("unchanged second run: %d stats, %d listings, %d lstats; want 12, 3 (the glob's), 0", stat, readdir, info)
	}
	if first[`mailwatch_quarantine_messages{quarantine="junk"}`] != second[`mailwatch_quarantine_messages{quarantine="junk"}`] {
		t.Errorf("cached run differs: %v vs %v", first, second)
	}
	file(t, j1+"/new/1700000100.M9P9.host", 50, t3)
	settle(t, j1+"/new")
	got, err := collectortest.Run(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	_, readdir, info = fsys.counts()
	if readdir != 3+1 || info != 2 {
		t.Errorf("one new message: %d listings, %d lstats; want the glob's 3 + new/, and new/'s 2 files", readdir, info)
	}
	if v := got[`mailwatch_quarantine_messages{quarantine="junk"}`]; v != 4 {
		t.Errorf("junk messages = %v, want 4", v)
	}
	if v := got[`mailwatch_quarantine_bytes{quarantine="junk"}`]; v != 1050 {
		t.Errorf("junk bytes = %v, want 1050", v)
	}
}

// TestRacyDirectoryIsListedAgain: a directory modified within the racy
// window is not trusted from the cache.
func TestRacyDirectoryIsListedAgain(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	file(t, root+"/q/m1", 10, t1) // the directory's mtime is now
	fsys := newCountingFS()
	c := newCollector(cfg(Set{Name: "q", Paths: []string{root + "/q"}}), fsys, time.Now, zap.NewNop())
	for range 2 {
		if _, err := collectortest.Run(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	if _, readdir, _ := fsys.counts(); readdir != 2 {
		t.Errorf("%d listings, want 2: a directory changed just now is listed again", readdir)
	}
}

// TestUnreadableSet: a directory that cannot be listed fails its set, not
// the others; when every set fails, the run fails.
func TestUnreadableSet(t *testing.T) {
	t.Parallel()
	root := host(t)
	fsys := newCountingFS()
	fsys.fail[root+"/amavis/virusmails"] = syscall.EACCES
	c := newCollector(cfg(Set{Name: "amavis", Paths: []string{root + "/amavis/virusmails"}}, Set{Name: "junk", Paths: []string{root + "/vhosts/*/*/.Junk"}}), fsys, time.Now, zap.NewNop())
	got, err := collectortest.Run(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if got[`mailwatch_quarantine_scan_success{quarantine="amavis"}`] != 0 || got[`mailwatch_quarantine_scan_success{quarantine="junk"}`] != 1 {
		t.Errorf("want amavis failed, junk scanned: %v", got)
	}
	fsys.fail[root+"/vhosts"] = syscall.EACCES
	if _, err := collectortest.Run(t.Context(), c); err == nil || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("every set failing: got %v, want a permission error", err)
	}
}

// TestMaxDirectories: the walk stops at max_directories, the set is
// reported failed, the cache stays bounded.
func TestMaxDirectories(t *testing.T) {
	t.Parallel()
	root := host(t)
	c := cfg(Set{Name: "amavis", Paths: []string{root + "/amavis/virusmails"}})
	c.MaxDirectories = 2
	col := newCollector(c, collectors.OSFS{}, time.Now, zap.NewNop())
	_, err := collectortest.Run(t.Context(), col)
	if err == nil || !errors.Is(err, errTooMany) {
		t.Errorf("got %v, want errTooMany", err)
	}
	if n := len(col.scan.cache.dirs); n > 2 {
		t.Errorf("cache holds %d directories, want at most 2", n)
	}
}

func TestNoSets(t *testing.T) {
	t.Parallel()
	_, err := collectortest.Run(t.Context(), newCollector(cfg(), collectors.OSFS{}, time.Now, zap.NewNop()))
	if !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("got %v, want ErrNotApplicable", err)
	}
}

// TestHungScan: a listing that hangs (dead mount) makes the run return at
// its deadline, and no second scan starts while it is stuck.
func TestHungScan(t *testing.T) {
	t.Parallel()
	root := host(t)
	fsys := newCountingFS()
	fsys.block[root+"/amavis/virusmails"] = true
	c := newCollector(cfg(Set{Name: "amavis", Paths: []string{root + "/amavis/virusmails"}}), fsys, time.Now, zap.NewNop())
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	_, err := collectortest.Run(ctx, c)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the deadline", err)
	}
	if _, err := collectortest.Run(t.Context(), c); !errors.Is(err, collectors.ErrBusy) {
		t.Errorf("second run while stuck: got %v, want ErrBusy", err)
	}
	close(fsys.release)
	collectortest.Eventually(t, "the stuck scan returned", func() bool { return !c.guard.Busy() })
	if _, err := collectortest.Run(t.Context(), c); err != nil {
		t.Errorf("after the mount came back: %v", err)
	}
}
