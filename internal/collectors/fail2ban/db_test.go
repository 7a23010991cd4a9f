// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package fail2ban

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func read(t *testing.T, d SQLiteDatabase, now time.Time, from Mark) Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := d.Read(ctx, now, from)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCurrentBans: bans appear when fail2ban records them and leave when
// their ban time runs out, an admin unbans them, or never (permanent).
func TestCurrentBans(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "fail2ban.sqlite3")
	f := newFakeF2B(t, path)
	d := SQLiteDatabase{Path: path}
	f.addJail("postfix")
	f.addJail("dovecot")
	f.addJail("sshd")
	f.stopJail("sshd")

	s := read(t, d, t0, Mark{})
	want := []Jail{{"dovecot", true}, {"postfix", true}, {"sshd", false}}
	if diff := cmp.Diff(want, s.Jails); diff != "" {
		t.Errorf("jails (-want +got)\n%s", diff)
	}
	if len(s.Banned) != 0 {
		t.Errorf("no bans yet, got %v", s.Banned)
	}

	at := t0.Unix()
	f.ban("postfix", "192.0.2.1", at-100, 600)  // until t0+500
	f.ban("postfix", "192.0.2.2", at-700, 600)  // ran out at t0-100
	f.ban("postfix", "192.0.2.3", at-9000, -1)  // permanent
	f.ban("dovecot", "192.0.2.1", at-10, 3600)  // until t0+3590
	f.ban("dovecot", "2001:db8::1", at-5, 3600) // until t0+3595
	f.ban("postfix", "192.0.2.2", at-50, 1200)  // banned again, longer: one bips row

	tests := []struct {
		name string
		now  time.Time
		want map[string]int
	}{
		{"now", t0, map[string]int{"postfix": 3, "dovecot": 2}},
		{"first ban ran out", t0.Add(501 * time.Second), map[string]int{"postfix": 2, "dovecot": 2}},
		{"later", t0.Add(2 * time.Hour), map[string]int{"postfix": 1}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, read(t, d, tc.now, Mark{}).Banned); diff != "" {
			t.Errorf("%s: banned (-want +got)\n%s", tc.name, diff)
		}
	}
	f.unban("postfix", "192.0.2.3")
	if diff := cmp.Diff(map[string]int{"postfix": 2, "dovecot": 2}, read(t, d, t0, Mark{}).Banned); diff != "" {
		t.Errorf("after unbanip: banned (-want +got)\n%s", diff)
	}
}

// TestBanHistory: the counter of new bans starts at 0, follows appends,
// survives fail2ban's purge and an unban of the newest rows, and counts all
// rows of a database fail2ban recreated.
func TestBanHistory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "fail2ban.sqlite3")
	f := newFakeF2B(t, path)
	d := SQLiteDatabase{Path: path}
	f.addJail("postfix")
	f.addJail("dovecot")
	at := t0.Unix()
	f.ban("postfix", "192.0.2.1", at-90000, 600)
	f.ban("postfix", "192.0.2.2", at-100, 600)

	s := read(t, d, t0, Mark{})
	if len(s.NewBans) != 0 {
		t.Errorf("first read counts nothing, got %v", s.NewBans)
	}
	mark := s.Mark

	f.ban("postfix", "192.0.2.3", at, 600)
	f.ban("dovecot", "192.0.2.3", at, 600)
	f.ban("dovecot", "192.0.2.4", at, 600)
	s = read(t, d, t0, mark)
	if diff := cmp.Diff(map[string]int{"postfix": 1, "dovecot": 2}, s.NewBans); diff != "" {
		t.Errorf("appended (-want +got)\n%s", diff)
	}
	mark = s.Mark

	f.purge(at - 86400)             // fail2ban's hourly purge of rows older than a day
	f.unban("dovecot", "192.0.2.4") // deletes the newest row
	s = read(t, d, t0, mark)
	if len(s.NewBans) != 0 {
		t.Errorf("purge and unban are no new bans, got %v", s.NewBans)
	}
	mark = s.Mark
	f.ban("postfix", "192.0.2.5", at+1, 600) // takes the freed rowid again
	s = read(t, d, t0, mark)
	if diff := cmp.Diff(map[string]int{"postfix": 1}, s.NewBans); diff != "" {
		t.Errorf("ban after unban (-want +got)\n%s", diff)
	}
	mark = s.Mark
	if s = read(t, d, t0, mark); len(s.NewBans) != 0 {
		t.Errorf("nothing new, got %v", s.NewBans)
	}

	// fail2ban's repairDB or an admin: the file is replaced.
	if err := os.Rename(path, path+".bak"); err != nil {
		t.Fatal(err)
	}
	g := newFakeF2B(t, path)
	g.addJail("postfix")
	g.ban("postfix", "192.0.2.9", at+5, 600)
	s = read(t, d, t0, mark)
	if diff := cmp.Diff(map[string]int{"postfix": 1}, s.NewBans); diff != "" {
		t.Errorf("recreated database (-want +got)\n%s", diff)
	}
}

// TestReadIsReadOnly: reading leaves fail2ban's file as it was and creates
// no journal or WAL next to it.
func TestReadIsReadOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "fail2ban.sqlite3")
	f := newFakeF2B(t, path)
	f.addJail("postfix")
	f.ban("postfix", "192.0.2.1", t0.Unix(), 600)
	before := fileHash(t, path)
	for range 3 {
		read(t, SQLiteDatabase{Path: path}, t0, Mark{})
	}
	if before != fileHash(t, path) {
		t.Error("reading changed the database file")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "fail2ban.sqlite3" {
			t.Errorf("reading left %s behind", e.Name())
		}
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

// TestLockedDatabase: while fail2ban holds its write lock past the run's
// deadline the read fails with "locked" rather than hanging; once the lock
// is released it succeeds.
func TestLockedDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "fail2ban.sqlite3")
	f := newFakeF2B(t, path)
	f.addJail("postfix")
	tx, err := f.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO jails(name) VALUES('dovecot')`); err != nil {
		t.Fatal(err)
	}
	d := SQLiteDatabase{Path: path}
	// A write in progress holds RESERVED: readers still read, and see the
	// state before it.
	s := read(t, d, t0, Mark{})
	if len(s.Jails) != 1 {
		t.Errorf("reader during an uncommitted write: got jails %v, want only the committed one", s.Jails)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	// An exclusive lock, as fail2ban holds while it commits.
	w, err := f.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err = d.Read(ctx, t0, Mark{})
	cancel()
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("read under an exclusive lock: got %v, want a 'database is locked' error", err)
	}
	if _, err := w.ExecContext(context.Background(), `COMMIT`); err != nil {
		t.Fatal(err)
	}
	w.Close()
	read(t, d, t0, Mark{})
}

func TestDatabaseErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.sqlite3")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not sqlite ", 500)), 0o600); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old.sqlite3")
	o := newFakeF2B(t, old)
	o.exec(`DROP TABLE bips`) // fail2ban 0.10 had no bips table

	missing := filepath.Join(dir, "missing.sqlite3")
	_, err := SQLiteDatabase{Path: missing}.Read(context.Background(), t0, Mark{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: got %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reading a missing database created it: %v", err)
	}
	for path, want := range map[string]string{garbage: "not a database", old: "fail2ban 0.11 or later"} {
		_, err := SQLiteDatabase{Path: path}.Read(context.Background(), t0, Mark{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want error containing %q", filepath.Base(path), err, want)
		}
	}
}

func TestDSN(t *testing.T) {
	t.Parallel()
	got := dsn("/var/lib/fail 2ban/db?#%.sqlite3", 1500*time.Millisecond)
	want := "file:/var/lib/fail%202ban/db%3F%23%25.sqlite3?mode=ro&_pragma=busy_timeout(1500)&_pragma=query_only(1)"
	if got != want {
		t.Errorf("dsn:\n got %s\nwant %s", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if w := busyWait(ctx); w != maxBusyWait {
		t.Errorf("busyWait with an hour left = %s, want %s", w, maxBusyWait)
	}
	if w := busyWait(context.Background()); w != maxBusyWait {
		t.Errorf("busyWait without deadline = %s, want %s", w, maxBusyWait)
	}
	short, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if w := busyWait(short); w > time.Second || w < 100*time.Millisecond {
		t.Errorf("busyWait with a second left = %s, want about 750ms", w)
	}
}
