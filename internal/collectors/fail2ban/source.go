// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package fail2ban

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go (no cgo)
)

// fileID tells one file from the file that replaced it at the same path.
type fileID struct{ dev, ino uint64 }

func identify(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: st.Ino} //nolint:unconvert // Dev is int32 or uint64 by platform
	}
	return fileID{}
}

// Mark is how far the ban history has been counted: the database file and
// the highest rowid of its bans table seen so far.
type Mark struct {
	File  fileID
	RowID int64
}

// Jail is one row of fail2ban's jails table.
type Jail struct {
	Name string
	// Active is the table's enabled column: fail2ban sets it when it starts
	// the jail and clears it when it stops the jail or itself.
	Active bool
}

// Snapshot is what one read of the database found.
type Snapshot struct {
	Jails []Jail
	// Banned counts, per jail, the addresses whose ban is in force now.
	Banned map[string]int
	// NewBans counts, per jail, the bans recorded since the mark passed to
	// Read.
	NewBans map[string]int
	// Mark is where the next Read should start counting.
	Mark Mark
}

// Database reads fail2ban's persistent state. Read may block on a sick
// filesystem or on fail2ban's write lock; it should honour ctx, and the
// collector calls it from a goroutine it can abandon, never from two
// goroutines at once.
type Database interface {
	Read(ctx context.Context, now time.Time, from Mark) (Snapshot, error)
}

// FailureLog counts, per jail, the addresses that failed recently and have
// not been banned since: fail2ban's "Currently failed", which lives only in
// fail2ban's memory and is not in its database. Poll may block on a sick
// filesystem; the collector calls it from a goroutine it can abandon, never
// from two goroutines at once.
type FailureLog interface {
	Poll(now time.Time) (Failures, error)
}

// Failures is the result of a poll.
type Failures struct {
	// ByJail counts the failing addresses per jail name, as in the log.
	ByJail map[string]int
	// Overflowed is set once more than maxTracked addresses were failing
	// at once: the counts are then lower bounds.
	Overflowed bool
}

// SQLiteDatabase reads fail2ban's SQLite file read-only, opening it anew
// for each read, so a restarted fail2ban or a database it recreated is
// picked up on the next run.
//
// fail2ban (0.11 and later) keeps two ban tables: bans, one row per ban,
// purged after dbpurgeage (1 day), and bips, one row per jail and address
// with its latest ban time and duration, which is what fail2ban restores
// its bans from at start. It runs SQLite with journal_mode=MEMORY, so a
// reader needs nothing but read access to the file itself: no -wal, -shm
// or -journal file is written or needed.
type SQLiteDatabase struct {
	Path string
}

// maxBusyWait bounds the wait for fail2ban's write lock; fail2ban writes
// with synchronous=OFF and holds the lock for milliseconds.
const maxBusyWait = 5 * time.Second

// Read implements Database.
func (d SQLiteDatabase) Read(ctx context.Context, now time.Time, from Mark) (Snapshot, error) {
	// Stat, never open: closing any descriptor of the file would drop the
	// POSIX locks SQLite holds on it in this process.
	fi, err := os.Stat(d.Path)
	if err != nil {
		return Snapshot{}, err
	}
	// SQLite says only "unable to open database file" when read access is
	// missing: name the cause, it is the one setup step the admin must do.
	if err := unix.Access(d.Path, unix.R_OK); err != nil {
		return Snapshot{}, &fs.PathError{Op: "open", Path: d.Path, Err: err}
	}
	id := identify(fi)
	db, err := sql.Open("sqlite", dsn(d.Path, busyWait(ctx)))
	if err != nil {
		return Snapshot{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// One transaction: every query sees the same state of the file.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Snapshot{}, fmt.Errorf("open %s: %w", d.Path, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to undo
	snap, err := readSnapshot(ctx, tx, now, from, id)
	if err != nil {
		return Snapshot{}, fmt.Errorf("read %s: %w", d.Path, err)
	}
	return snap, nil
}

// dsn opens the file read-only as a URI (so a '?' or '%' in the path is
// escaped, and mode=ro is honoured rather than silently creating the file),
// with query_only as a second guard against ever writing to fail2ban's
// state.
func dsn(path string, busy time.Duration) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() +
		fmt.Sprintf("?mode=ro&_pragma=busy_timeout(%d)&_pragma=query_only(1)", busy.Milliseconds())
}

// busyWait is how long SQLite may wait for a lock: most of what is left of
// the run, at most maxBusyWait.
func busyWait(ctx context.Context) time.Duration {
	w := maxBusyWait
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) * 3 / 4; left < w {
			w = left
		}
	}
	return max(w, time.Millisecond)
}

func readSnapshot(ctx context.Context, tx *sql.Tx, now time.Time, from Mark, id fileID) (Snapshot, error) {
	snap := Snapshot{Banned: map[string]int{}, NewBans: map[string]int{}}
	rows, err := tx.QueryContext(ctx, `SELECT name, enabled FROM jails ORDER BY name`)
	if err != nil {
		return Snapshot{}, fmt.Errorf("list jails: %w", err)
	}
	for rows.Next() {
		var j Jail
		if err := rows.Scan(&j.Name, &j.Active); err != nil {
			rows.Close()
			return Snapshot{}, fmt.Errorf("list jails: %w", err)
		}
		snap.Jails = append(snap.Jails, j)
	}
	if err := closeRows(rows); err != nil {
		return Snapshot{}, fmt.Errorf("list jails: %w", err)
	}
	// The same condition fail2ban applies when it restores its bans: the
	// ban has not run out, or it is permanent (bantime -1).
	if err := countByJail(ctx, tx, snap.Banned,
		`SELECT jail, count(*) FROM bips WHERE timeofban + bantime > ? OR bantime <= -1 GROUP BY jail`, now.Unix()); err != nil {
		return Snapshot{}, fmt.Errorf("count current bans (fail2ban 0.11 or later needed): %w", err)
	}
	var maxRow int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(rowid), 0) FROM bans`).Scan(&maxRow); err != nil {
		return Snapshot{}, fmt.Errorf("read ban history: %w", err)
	}
	after := nextStart(from, id, maxRow)
	if err := countByJail(ctx, tx, snap.NewBans, `SELECT jail, count(*) FROM bans WHERE rowid > ? GROUP BY jail`, after); err != nil {
		return Snapshot{}, fmt.Errorf("count new bans: %w", err)
	}
	snap.Mark = Mark{File: id, RowID: maxRow}
	return snap, nil
}

// nextStart is the rowid after which the bans rows are new. fail2ban only
// appends to the table (rowids grow) and deletes old rows (purge) or the
// rows of an address an admin unbans, which may be the newest ones.
//   - The first read counts nothing: the counter starts at 0, so a restart
//     of mailwatchd is a clean counter reset, not a burst of old bans.
//   - A different file (fail2ban recreated its database): all rows are new.
//   - Rows above the mark were deleted: the rowids above what is left will
//     be reused, so count from what is left. (An unban of the newest ban
//     followed by a new ban within one interval therefore goes uncounted:
//     the table has no other sign of the replacement.)
func nextStart(from Mark, id fileID, maxRow int64) int64 {
	switch {
	case from == (Mark{}):
		return maxRow
	case from.File != id:
		return 0
	default:
		return min(from.RowID, maxRow)
	}
}

func countByJail(ctx context.Context, tx *sql.Tx, into map[string]int, query string, arg int64) error {
	rows, err := tx.QueryContext(ctx, query, arg)
	if err != nil {
		return err
	}
	for rows.Next() {
		var jail string
		var n int
		if err := rows.Scan(&jail, &n); err != nil {
			rows.Close()
			return err
		}
		into[jail] += n
	}
	return closeRows(rows)
}

func closeRows(rows *sql.Rows) error {
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}
