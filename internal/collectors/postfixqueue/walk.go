// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// The walk source reads the queue directories the way showq(8) does, for a
// host where the socket cannot be used (Postfix stopped, or the daemon not
// in the postdrop group but root or postfix). The queue directories are
// mode 0700 postfix, so it needs one of those two users.
//
// Like showq it lists only files that are complete (owner bits rwx) and not
// hard-linked, takes the arrival time from the T record (the file mtime
// otherwise: a deferred file's mtime is its next retry, not its arrival),
// the size from the C record (the file size otherwise), and the recipients
// from the R records plus, for deferred mail, the defer log with its
// reasons. It skips the message content with the size in the C record and
// follows p (pointer) records, as rec_get() does.
//
// The corrupt queue, which showq does not list, is counted from the
// directory alone: file count, file sizes, oldest mtime, no recipients.

// walkQueues is the order showq reads the queues in, plus corrupt.
var walkQueues = [...]queue{qMaildrop, qActive, qIncoming, qDeferred, qHold, qCorrupt}

const (
	// maxHashDepth bounds the hashed subdirectories (hash_queue_depth is
	// at most a few levels).
	maxHashDepth = 4
	// maxRecordLen bounds one queue file record; Postfix's own are far
	// smaller (line_length_limit), so a bigger one is a damaged file.
	maxRecordLen = 1 << 24
	// maxJumps bounds pointer records followed in one file (rec_goto
	// guards against loops the same way).
	maxJumps = 100000
	// readdirBatch keeps directory reads bounded on a huge queue.
	readdirBatch = 512
)

var errNotSpool = errors.New("no Postfix queue directory found (not a queue_directory?)")

// walkSpool counts every queue under spool into t.
func walkSpool(ctx context.Context, spool string, t *tally) error {
	w := &walker{ctx: ctx, spool: spool, t: t}
	found := 0
	for _, q := range walkQueues {
		dir := filepath.Join(spool, q.String())
		err := w.dir(dir, "", q, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		found++
	}
	if found == 0 {
		return fmt.Errorf("walk %s: %w", spool, errNotSpool)
	}
	return nil
}

type walker struct {
	ctx   context.Context
	spool string
	t     *tally
	files int
	qf    queueFile
}

// dir visits one queue directory; rel is the hash subpath below the queue.
func (w *walker) dir(root, rel string, q queue, depth int) error {
	path := filepath.Join(root, rel)
	d, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(readdirBatch)
		for _, e := range ents {
			if err := w.entry(root, rel, e, q, depth); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("walk: %w", err)
		}
	}
}

func (w *walker) entry(root, rel string, e fs.DirEntry, q queue, depth int) error {
	if w.files++; w.files%256 == 0 && w.ctx.Err() != nil {
		return fmt.Errorf("walk %s: %w", w.spool, w.ctx.Err())
	}
	sub := filepath.Join(rel, e.Name())
	switch {
	case e.IsDir() && depth < maxHashDepth:
		err := w.dir(root, sub, q, depth+1)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // hash directory removed meanwhile
		}
		return err
	case e.Type().IsRegular():
		err := w.file(root, sub, q)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the message moved on between readdir and open
		}
		return err
	}
	return nil
}

// file counts one queue file.
func (w *walker) file(root, rel string, q queue) error {
	path := filepath.Join(root, rel)
	st, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	mtime := st.ModTime().Unix()
	if q == qCorrupt {
		w.t.message(q, mtime, st.Size())
		return nil
	}
	if !queueFileReady(st) {
		return nil // still being written, or a hard link: showq skips it too
	}
	info, err := w.qf.read(path)
	if err != nil {
		return err
	}
	arrival, size := mtime, st.Size()
	if info.hasArrival {
		arrival = info.arrival
	}
	if info.hasSize {
		size = info.size
	}
	var logged map[string]bool
	if q == qDeferred {
		if logged, err = w.deferLog(rel, filepath.Base(path)); err != nil {
			return err
		}
	}
	for _, r := range info.rcpts {
		if !logged[string(r)] {
			w.t.recipient(q, r, nil)
		}
	}
	w.t.message(q, arrival, size)
	return nil
}

// queueFileReady mirrors mail_open_ok(): a queue file is complete when its
// owner bits are rwx, and a hard-linked one is skipped.
func queueFileReady(st fs.FileInfo) bool {
	if st.Mode().Perm()&0o700 != 0o700 {
		return false
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink > 1 {
		return false
	}
	return true
}

// deferLog counts the recipients of a deferred message's defer log with
// their reasons and returns their addresses, so that the queue file's R
// records for them are not counted twice (showq's duplicate filter). The
// defer queue is hashed like deferred by default, so the log sits under
// the same subpath; a flat defer directory is tried next.
func (w *walker) deferLog(rel, id string) (map[string]bool, error) {
	f, err := os.Open(filepath.Join(w.spool, "defer", rel))
	if errors.Is(err, fs.ErrNotExist) && filepath.Dir(rel) != "." {
		f, err = os.Open(filepath.Join(w.spool, "defer", id))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("walk: %w", err)
	}
	defer f.Close()
	seen := map[string]bool{}
	err = parseDeferLog(f, func(addr, why []byte) {
		w.t.recipient(qDeferred, addr, why)
		seen[string(addr)] = true
	})
	if err != nil {
		return nil, fmt.Errorf("walk: defer log %s: %w", id, err)
	}
	return seen, nil
}

// parseDeferLog reads a defer logfile. Postfix 2.3+ writes blocks of
// name=value lines separated by blank lines, each led by a human-readable
// "<addr>: reason" line; older versions wrote only those lines. The
// recipient= and reason= attributes win when both are present.
func parseDeferLog(r io.Reader, emit func(addr, why []byte)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineLen)
	var b deferBlock
	for sc.Scan() {
		l := sc.Bytes()
		switch {
		case len(l) == 0:
			b.flush(emit)
		case l[0] == '<':
			if b.legacyAddr != nil || b.addr != nil {
				b.flush(emit)
			}
			if i := bytes.Index(l, []byte(">: ")); i > 0 {
				b.legacyAddr = append([]byte{}, l[1:i]...)
				b.legacyWhy = append([]byte{}, l[i+3:]...)
			}
		case bytes.HasPrefix(l, []byte("recipient=")):
			if b.addr != nil {
				b.flush(emit)
			}
			b.addr = append([]byte{}, l[len("recipient="):]...)
		case bytes.HasPrefix(l, []byte("reason=")):
			b.why = append([]byte{}, l[len("reason="):]...)
		}
	}
	b.flush(emit)
	return sc.Err()
}

type deferBlock struct {
	addr, why, legacyAddr, legacyWhy []byte
}

func (b *deferBlock) flush(emit func(addr, why []byte)) {
	addr, why := b.addr, b.why
	if addr == nil {
		addr = b.legacyAddr
	}
	if why == nil {
		why = b.legacyWhy
	}
	if addr != nil {
		emit(addr, why)
	}
	*b = deferBlock{}
}
