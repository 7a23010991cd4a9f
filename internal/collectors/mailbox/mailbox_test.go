// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func testConfig(roots ...Root) Config {
	c := Config{Roots: roots}
	c.ApplyDefaults()
	return c
}

// later is a clock an hour ahead, so that directories just written are
// not "racy" (see racyWindow) and the cache trusts them.
func later() time.Time { return time.Now().Add(time.Hour) }

func TestSizeFromName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want int64
		ok   bool
	}{
		{"1700000000.M1P2.host,S=1234:2,S", 1234, true},
		{"1700000000.M1P2.host,S=1234,W=1260:2,S", 1234, true},
		{"1700000000.M1P2.host,W=1260,S=1234:2,", 1234, true},
		{"1700000000.M1P2.host,S=0", 0, true},
		{"1700000000.M1P2.host,S=77!2,S", 77, true},
		{"1700000000.M1P2.host\\054S=5,S=6:2,", 6, true},
		{"1700000000.M1P2.host:2,S", 0, false},
		{"1700000000.M1P2.host:2,S=99", 0, false},
		{"1700000000.M1P2.host,S=:2,", 0, false},
		{"1700000000.M1P2.host,S=12a:2,", 0, false},
		{"1700000000.M1P2.host,S=-5", 0, false},
		{"x,S=9999999999999999999", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		got, ok := sizeFromName(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("sizeFromName(%q) = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// refCountFrom is the obvious definition the streaming counter must match.
func refCountFrom(data []byte) int64 {
	var n int64
	for _, line := range bytes.Split(data, []byte("\n")) {
		if bytes.HasPrefix(line, []byte(fromLine)) {
			n++
		}
	}
	return n
}

func TestFromCounter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want int64
	}{
		{"empty", "", 0},
		{"two messages", "From a@b Mon\nSubject: x\n\nbody\n\nFrom c@d Tue\n\nbody\n", 2},
		{"escaped and near misses", "From a\n>From x\nFrom\n From y\nfrom z\nFromage\nFrom b", 2},
		{"crlf", "From a\r\nx\r\n\r\nFrom b\r\n", 2},
		{"partial separator at end", "From a\nFro", 1},
		{"blank lines", "\n\n\nFrom a\n\n", 1},
		{"mbox helper", mbox("a", "From inside body is escaped by writers", "c"), 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if ref := refCountFrom([]byte(tc.in)); ref != tc.want {
				t.Fatalf("reference says %d, table says %d", ref, tc.want)
			}
			var whole fromCounter
			whole.feed([]byte(tc.in))
			var bytewise fromCounter
			for i := range len(tc.in) {
				bytewise.feed([]byte{tc.in[i]})
			}
			if whole.n != tc.want || bytewise.n != tc.want {
				t.Errorf("whole %d, byte by byte %d, want %d", whole.n, bytewise.n, tc.want)
			}
		})
	}
}

func TestExpandAndNames(t *testing.T) {
	t.Parallel()
	m := goldenTree()
	m["home/.snapshot/Maildir/cur/x"] = m["var/mail/bob"]
	var got []string
	e := expand(collectortest.MapFS{M: m}, "/var/mail/vhosts/*/*", func(p string, parts []string) error {
		got = append(got, p+" "+mailboxName(parts)+" "+domainOf(parts))
		return nil
	})
	want := []string{
		"/var/mail/vhosts/example.net/gina example.net/gina example.net",
		"/var/mail/vhosts/example.org/erin example.org/erin example.org",
		"/var/mail/vhosts/example.org/frank example.org/frank example.org",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || e.absent || len(e.errs) > 0 {
		t.Errorf("got %q absent=%v errs=%v, want %q", got, e.absent, e.errs, want)
	}
	got = nil
	expand(collectortest.MapFS{M: m}, "/home/*/Maildir", func(p string, parts []string) error {
		got = append(got, p)
		return nil
	})
	// .snapshot is hidden from "*"; dave has no Maildir but matches (the
	// measuring step skips him).
	if want := "/home/alice/Maildir /home/carol/Maildir /home/dave/Maildir"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if e := expand(collectortest.MapFS{M: m}, "/srv/*/Maildir", func(string, []string) error { return nil }); !e.absent {
		t.Error("missing base directory not reported absent")
	}
	for _, tc := range []struct {
		parts  []string
		domain string
	}{
		{[]string{"alice"}, ""},
		{[]string{"alice@example.org"}, "example.org"},
		{[]string{"alice@"}, ""},
		{[]string{"example.org", "alice", "x"}, "example.org"},
	} {
		if got := domainOf(tc.parts); got != tc.domain {
			t.Errorf("domainOf(%q) = %q, want %q", tc.parts, got, tc.domain)
		}
	}
	// Kept as they are, not repaired to U+FFFD, which would merge a\xffb
	// and a\xfeb into one mailbox; the label escapes them.
	if got := mailboxName([]string{"x", "a\xffb"}); got != "x/a\xffb" {
		t.Errorf("mailboxName = %q, want the bytes unchanged", got)
	}
}

func TestGoldenSuccess(t *testing.T) {
	t.Parallel()
	cfg := testConfig(goldenRoots...)
	cfg.Top, cfg.Domains = 3, 1
	c := newCollector(cfg, collectortest.MapFS{M: goldenTree()}, nil, time.Now, zap.NewNop())
	collectortest.CheckGolden(t, c, "success", false)
}

// TestGoldenPartial: a folder that cannot be read, a symbolic link loop,
// and a domain directory that cannot be listed are each reported, and the
// rest is still measured.
func TestGoldenPartial(t *testing.T) {
	t.Parallel()
	cfg := testConfig(goldenRoots...)
	cfg.Top, cfg.Domains = 3, 1
	m := goldenTree()
	addMaildir(m, "/home/dave/Maildir", 1)
	f := newCountingFS(collectortest.MapFS{M: m})
	f.fail["stat /home/carol/Maildir/.Sent/cur"] = fs.ErrPermission
	f.fail["stat /home/dave/Maildir"] = syscall.ELOOP
	f.fail["readdir /var/mail/vhosts/example.net"] = fs.ErrPermission
	c := newCollector(cfg, f, nil, time.Now, zap.NewNop())
	if err := collectortest.Golden(t, c, "partial"); err != nil {
		t.Fatalf("partial failure must not fail the run: %v", err)
	}
}

func TestGoldenTotalFailure(t *testing.T) {
	t.Parallel()
	f := newCountingFS(collectortest.MapFS{M: goldenTree()})
	for _, d := range []string{"/var/mail", "/home", "/var/mail/vhosts"} {
		f.fail["readdir "+d] = fs.ErrPermission
	}
	c := newCollector(testConfig(goldenRoots...), f, nil, time.Now, zap.NewNop())
	err := collectortest.Golden(t, c, "total_failure")
	if err == nil || errors.Is(err, collectors.ErrNotApplicable) || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("all roots unreadable: got %v, want a permission error", err)
	}
}

func TestAbsentRootsNotApplicable(t *testing.T) {
	t.Parallel()
	c := newCollector(testConfig(goldenRoots...), collectortest.MapFS{M: fstest.MapFS{}}, nil, time.Now, zap.NewNop())
	if _, err := collectortest.Run(context.Background(), c); !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("no roots on this host: got %v, want ErrNotApplicable", err)
	}
}

// TestMaildirMatchesFileSizes builds a few thousand messages in Maildir
// layout on disk, with and without ,S= sizes, Maildir++ and LAYOUT=fs
// folders, and files that are not mail; the sizes must equal the sum of
// the message files, and a second run over the unchanged tree must cost at
// least ten times fewer file system operations.
func TestMaildirMatchesFileSizes(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	msgs := func(n int) []message {
		out := make([]message, n)
		for i := range out {
			out[i] = message{body: body(1 + rng.IntN(3000)), sizeName: i%3 != 0}
		}
		return out
	}
	users := []string{"alice", "bob", "carol", "dave", "erin"}
	for i, u := range users {
		md := filepath.Join(home, u, "Maildir")
		writeMaildir(t, md, msgs(300+100*i), msgs(20))
		writeMaildir(t, filepath.Join(md, ".Sent"), msgs(100), nil)
		writeMaildir(t, filepath.Join(md, ".Lists.Debian"), msgs(50), msgs(5))
		writeMaildir(t, filepath.Join(md, "Archive", "2025"), msgs(40), nil) // LAYOUT=fs
		for _, junk := range []string{"dovecot.index.cache", "dovecot-uidlist", "tmp/1700.M1P1.mx", "cur/.hidden"} {
			if err := os.WriteFile(filepath.Join(md, junk), []byte(body(999)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(md, "cur", "stray-dir"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	f := newCountingFS(OSFS{})
	cfg := testConfig(Root{Path: home + "/*/Maildir", Format: FormatMaildir})
	c := newCollector(cfg, f, nil, later, zap.NewNop())

	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	first := f.snapshot()
	var total int64
	for _, u := range users {
		wantBytes, wantMsgs := sumMessages(t, filepath.Join(home, u, "Maildir"))
		total += wantMsgs
		if b, m := got[`mailwatch_mailbox_size_bytes{mailbox="`+u+`"}`], got[`mailwatch_mailbox_messages{mailbox="`+u+`"}`]; b != float64(wantBytes) || m != float64(wantMsgs) {
			t.Errorf("%s: got %v bytes %v messages, files say %d bytes %d messages", u, b, m, wantBytes, wantMsgs)
		}
	}

	if _, err := collectortest.Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	second := f.snapshot()
	t.Logf("%d messages in %d mailboxes: first run %+v (%d ops), unchanged second run %+v (%d ops)",
		total, len(users), first, first.total(), second, second.total())
	if second.total()*10 > first.total() {
		t.Errorf("second run made %d file system operations, want at most a tenth of the first run's %d", second.total(), first.total())
	}
	if second.Info != 0 || second.ReadDir != 1 {
		t.Errorf("unchanged tree: %d lstats and %d directory listings, want 0 and 1 (the root pattern's /home)", second.Info, second.ReadDir)
	}
}

// TestDuAgrees compares with du(1) where it is installed: du's apparent
// size of a Maildir of messages only, minus its directories' own sizes.
func TestDuAgrees(t *testing.T) {
	t.Parallel()
	du, err := exec.LookPath("du")
	if err != nil {
		t.Skip("du not installed")
	}
	home := t.TempDir()
	md := filepath.Join(home, "u", "Maildir")
	var msgs []message
	for i := range 500 {
		msgs = append(msgs, message{body: body(1 + i*7), sizeName: i%2 == 0})
	}
	writeMaildir(t, md, msgs[:400], msgs[400:])
	out, err := exec.Command(du, "--apparent-size", "-b", "-s", md).Output()
	if err != nil {
		t.Fatal(err)
	}
	duBytes, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"", "cur", "new", "tmp"} {
		fi, err := os.Lstat(filepath.Join(md, d))
		if err != nil {
			t.Fatal(err)
		}
		duBytes -= fi.Size()
	}
	c := newCollector(testConfig(Root{Path: home + "/*/Maildir"}), OSFS{}, nil, time.Now, zap.NewNop())
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if b := got[`mailwatch_mailbox_size_bytes{mailbox="u"}`]; b != float64(duBytes) {
		t.Errorf("collector says %v bytes, du --apparent-size -b says %d", b, duBytes)
	}
}

// TestCacheSeesChanges: deliveries, moves, expunges and new folders change
// the directories' mtimes and so are seen; an unchanged directory is not
// listed again.
func TestCacheSeesChanges(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	md := filepath.Join(home, "alice", "Maildir")
	writeMaildir(t, md, []message{{body: body(100), sizeName: true}}, nil)
	ageTree(t, home)
	f := newCountingFS(OSFS{})
	c := newCollector(testConfig(Root{Path: home + "/*/Maildir"}), f, nil, time.Now, zap.NewNop())
	check := func(step string, wantBytes, wantMsgs float64) {
		t.Helper()
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if b, m := got[`mailwatch_mailbox_size_bytes{mailbox="alice"}`], got[`mailwatch_mailbox_messages{mailbox="alice"}`]; b != wantBytes || m != wantMsgs {
			t.Errorf("%s: got %v bytes %v messages, want %v and %v", step, b, m, wantBytes, wantMsgs)
		}
	}
	check("first", 100, 1)
	f.snapshot()
	check("unchanged", 100, 1)
	if n := f.snapshot(); n.ReadDir != 1 {
		t.Errorf("unchanged: %d listings, want 1 (the pattern's base)", n.ReadDir)
	}
	deliver := filepath.Join(md, "new", "1700000500.M1P1.mx,S=50")
	if err := os.WriteFile(deliver, []byte(body(50)), 0o600); err != nil {
		t.Fatal(err)
	}
	check("delivered", 150, 2)
	if err := os.Rename(deliver, filepath.Join(md, "cur", "1700000500.M1P1.mx,S=50:2,S")); err != nil {
		t.Fatal(err)
	}
	check("moved to cur", 150, 2)
	writeMaildir(t, filepath.Join(md, ".Trash"), []message{{body: body(7)}}, nil)
	check("new folder", 157, 3)
	if err := os.Remove(filepath.Join(md, "cur", "1700000500.M1P1.mx,S=50:2,S")); err != nil {
		t.Fatal(err)
	}
	check("expunged", 107, 2)
}

// TestRacyDirectoryIsRecounted: a directory whose mtime is as recent as
// the listing could still change within the same timestamp tick, so the
// next run lists it again rather than trust the cache.
func TestRacyDirectoryIsRecounted(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	writeMaildir(t, filepath.Join(home, "alice", "Maildir"), []message{{body: "x"}}, nil)
	f := newCountingFS(OSFS{})
	c := newCollector(testConfig(Root{Path: home + "/*/Maildir"}), f, nil, time.Now, zap.NewNop())
	// Four listings a run: the pattern's base, the Maildir (folders), cur, new.
	for range 2 {
		if _, err := collectortest.Run(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.snapshot(); n.ReadDir != 2*4 {
		t.Errorf("two runs over fresh directories: %d listings, want 8 (nothing trusted)", n.ReadDir)
	}
	c.scan.now = later
	for range 2 {
		if _, err := collectortest.Run(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.snapshot(); n.ReadDir != 4+1 {
		t.Errorf("a run relisting the racy entries then a trusted run: %d listings, want 5", n.ReadDir)
	}
}

func TestSymlinkLoopAndVanishedMailbox(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	writeMaildir(t, filepath.Join(home, "alice", "Maildir"), []message{{body: "abc"}}, nil)
	if err := os.Mkdir(filepath.Join(home, "loop"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("Maildir", filepath.Join(home, "loop", "Maildir")); err != nil {
		t.Fatal(err)
	}
	f := newCountingFS(OSFS{})
	// bob is listed by the pattern's directory but gone when measured.
	f.fail["stat "+filepath.Join(home, "bob", "Maildir")] = fs.ErrNotExist
	c := newCollector(testConfig(Root{Path: home + "/*/Maildir"}), f, nil, later, zap.NewNop())
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	root := `{root="` + home + `/*/Maildir"}`
	if got["mailwatch_mailbox_root_mailboxes"+root] != 2 || got["mailwatch_mailbox_root_unmeasured_mailboxes"+root] != 1 || got["mailwatch_mailbox_root_success"+root] != 1 {
		t.Errorf("want 2 mailboxes (alice, the loop), 1 unmeasured (the loop); got %v", got)
	}
	if got[`mailwatch_mailbox_size_bytes{mailbox="alice"}`] != 3 {
		t.Errorf("alice not measured: %v", got)
	}
}

// TestMboxAppendReadsOnlyNewBytes: a delivery appends to an mbox; only the
// appended bytes (and two small fingerprints) are read. An expunge rewrites
// it; then it is read whole. Unchanged, it is not opened.
func TestMboxAppendReadsOnlyNewBytes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	box := filepath.Join(dir, "alice")
	big := mbox(body(50_000), body(50_000), body(50_000))
	if err := os.WriteFile(box, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newCountingFS(OSFS{})
	c := newCollector(testConfig(Root{Path: dir + "/*", Format: FormatMbox}), f, nil, later, zap.NewNop())
	check := func(step string, wantBytes, wantMsgs int) opCounts {
		t.Helper()
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if b, m := got[`mailwatch_mailbox_size_bytes{mailbox="alice"}`], got[`mailwatch_mailbox_messages{mailbox="alice"}`]; b != float64(wantBytes) || m != float64(wantMsgs) {
			t.Errorf("%s: got %v bytes %v messages, want %d and %d", step, b, m, wantBytes, wantMsgs)
		}
		return f.snapshot()
	}
	if n := check("first", len(big), 3); n.ReadBytes < int64(len(big)) {
		t.Errorf("first run read %d bytes of %d", n.ReadBytes, len(big))
	}
	if n := check("unchanged", len(big), 3); n.Open != 0 {
		t.Errorf("unchanged mbox opened %d times", n.Open)
	}
	more := mbox("new mail")
	fh, err := os.OpenFile(box, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteString(more); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	if n := check("appended", len(big)+len(more), 4); n.ReadBytes > int64(len(more)+2*tailLen) {
		t.Errorf("append: read %d bytes, want at most the %d appended plus two fingerprints", n.ReadBytes, len(more))
	}
	small := mbox("only one left")
	if err := os.WriteFile(box, []byte(small), 0o600); err != nil {
		t.Fatal(err)
	}
	check("rewritten", len(small), 1)
}

// blockingFS hangs in ReadDir until released, like a dead NFS server.
type blockingFS struct {
	FS
	release chan struct{}
}

func (b blockingFS) ReadDir(name string, fn func([]fs.DirEntry) error) error {
	<-b.release
	return b.FS.ReadDir(name, fn)
}

// TestCtxHungFileSystem: a walk stuck in a file system call makes Update
// return once ctx is done; the next run does not start a second walk while
// the first is stuck, and runs normally once it returns.
func TestCtxHungFileSystem(t *testing.T) {
	t.Parallel()
	b := blockingFS{FS: collectortest.MapFS{M: goldenTree()}, release: make(chan struct{})}
	c := newCollector(testConfig(goldenRoots...), b, nil, time.Now, zap.NewNop())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := collectortest.Run(ctx, c); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung walk: got %v, want DeadlineExceeded", err)
	}
	if _, err := collectortest.Run(context.Background(), c); !errors.Is(err, collectors.ErrBusy) {
		t.Fatalf("second run while the walk hangs: got %v, want collectors.ErrBusy", err)
	}
	close(b.release)
	waitIdle(t, c)
	if got, err := collectortest.Run(context.Background(), c); err != nil || got[`mailwatch_mailbox_size_bytes{mailbox="carol"}`] == 0 {
		t.Fatalf("run after recovery: %v %v", err, got)
	}
}

// TestCtxCancelledMidWalkKeepsProgress: a deadline in the middle of a walk
// fails the run, but the directories measured so far stay cached.
func TestCtxCancelledMidWalkKeepsProgress(t *testing.T) {
	t.Parallel()
	f := newCountingFS(collectortest.MapFS{M: goldenTree()})
	c := newCollector(testConfig(goldenRoots...), f, nil, time.Now, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	cf := &cancelAfterFS{countingFS: f, after: 12, cancel: cancel}
	c.scan.fsys = cf
	if _, err := collectortest.Run(ctx, c); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want Canceled", err)
	}
	waitIdle(t, c) // Update may return before the walk goroutine does
	cached := len(c.scan.cache.counts)
	if cached == 0 {
		t.Error("nothing cached from the interrupted walk")
	}
	c.scan.fsys = f
	if _, err := collectortest.Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if len(c.scan.cache.counts) <= cached {
		t.Errorf("complete walk cached %d directories, interrupted one %d", len(c.scan.cache.counts), cached)
	}
}

// waitIdle waits until the collector's walk goroutine has returned.
func waitIdle(t *testing.T, c *Collector) {
	t.Helper()
	collectortest.Eventually(t, "the walk returned", func() bool { return !c.guard.Busy() })
}

type cancelAfterFS struct {
	*countingFS
	mu     sync.Mutex
	after  int
	cancel func()
}

func (c *cancelAfterFS) Stat(name string) (fs.FileInfo, error) {
	c.mu.Lock()
	c.after--
	if c.after == 0 {
		c.cancel()
	}
	c.mu.Unlock()
	return c.countingFS.Stat(name)
}

func TestMaxMailboxes(t *testing.T) {
	t.Parallel()
	cfg := testConfig(goldenRoots...)
	cfg.MaxMailboxes = 4
	c := newCollector(cfg, collectortest.MapFS{M: goldenTree()}, nil, time.Now, zap.NewNop())
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	var measured, unmeasured float64
	for k, v := range got {
		if strings.HasPrefix(k, "mailwatch_mailbox_root_unmeasured_mailboxes") {
			unmeasured += v
		}
		if strings.HasPrefix(k, "mailwatch_mailbox_root_mailboxes") {
			measured += v
		}
	}
	// 7 stores (dave has none); alice's mbox and Maildir are one box, so
	// the 4 boxes take 5 stores and the last 2 are left out.
	if measured != 7 || unmeasured != 2 {
		t.Errorf("max_mailboxes 4 of 7 stores: got %v found, %v unmeasured", measured, unmeasured)
	}
}

// TestLabelsFromPattern: a mailbox label and its domain derive from the
// parts the root pattern's wildcards match.
func TestLabelsFromPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, path, mailbox, domain string
	}{
		{"/home/*/Maildir", "/home/alice/Maildir", "alice", ""},
		{"/var/mail/vhosts/*/*", "/var/mail/vhosts/example.org/bob", "example.org/bob", "example.org"},
		{"/var/vmail/*", "/var/vmail/carol@example.net", "carol@example.net", "example.net"},
	}
	for _, tc := range tests {
		fsys := collectortest.MapFS{M: fstest.MapFS{strings.TrimPrefix(tc.path, "/") + "/cur/1,S=1": {}}}
		var got string
		expand(fsys, tc.pattern, func(p string, parts []string) error {
			got = fmt.Sprintf("%s %s %s", p, mailboxName(parts), domainOf(parts))
			return nil
		})
		if want := fmt.Sprintf("%s %s %s", tc.path, tc.mailbox, tc.domain); got != want {
			t.Errorf("%s: got %q, want %q", tc.pattern, got, want)
		}
	}
}

// TestInheritKeepsCache: after a reload the replacement collector starts
// from the old one's cache, so an unchanged tree is not listed again.
func TestInheritKeepsCache(t *testing.T) {
	t.Parallel()
	f := newCountingFS(collectortest.MapFS{M: goldenTree()})
	old := newCollector(testConfig(goldenRoots...), f, nil, time.Now, zap.NewNop())
	if _, err := collectortest.Run(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	first := f.snapshot()
	c := newCollector(testConfig(goldenRoots...), f, nil, time.Now, zap.NewNop())
	c.Inherit(old)
	if _, err := collectortest.Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	// Only the pattern directories are listed: /var/mail, /home,
	// /var/mail/vhosts and its two domains.
	if n := f.snapshot(); n.ReadDir != 5 || first.ReadDir <= 5 {
		t.Errorf("after inheriting: %d listings (first run %d), want 5", n.ReadDir, first.ReadDir)
	}
	if _, err := collectortest.Run(context.Background(), old); !errors.Is(err, collectors.ErrBusy) {
		t.Errorf("the replaced collector must not walk with the handed-over cache: %v", err)
	}
}
