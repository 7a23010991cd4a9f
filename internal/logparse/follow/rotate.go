// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package follow

// Rotation: what the follower does when a file is renamed, replaced or
// truncated under it, or was while mailwatchd was down. The rotated
// versions of a file (its siblings: mail.log.1, mail.log-20260101) are
// looked at as one snapshot of open files, newest first; a saved position
// or a truncated file's first bytes tell which sibling holds the rest of
// what was being read, and the siblings newer than that one were never
// seen and are read whole.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// resumePath places the saved positions of path: on the file the path names
// now (t, nil when there is none) when it is the same file, else on the
// siblings it was rotated or copied to while we were down. When t is read
// from its start (rotated or truncated while we were down), the siblings
// rotated after the newest known one were never seen: they are read whole.
// It returns the sibling tailers it opened.
func (s *fileSource) resumePath(path string, t *tailer, saved []FilePos) []*tailer {
	var out []*tailer
	sibs := s.siblings(path) // one snapshot: its order decides what is newer
	defer closeSiblings(sibs)
	claimed := map[fileID]bool{}
	newest := len(sibs) // index of the newest sibling a saved position is on
	liveKnown, liveResumed := false, false
	for _, p := range saved {
		if t != nil && p.Dev == t.id.dev && p.Ino == t.id.ino {
			liveKnown = true
			if s.prefixMatches(t.f, p) {
				if t.size >= p.Offset {
					s.seek(t, p.Offset)
					t.skipping = p.InLongLine
					if p.NoneRead {
						// Nothing of it was read before: a copy made since
						// the siblings saved is of lines never seen; the
						// first poll looks (copiedUnseen).
						t.unseen, t.unseenMtime = savedSiblings(p), p.unseenMtime()
					}
				} else {
					s.lostTail(t, p)
				}
				liveResumed = true
				continue
			}
			s.stats.Truncations.Add(1) // truncated while we were down: the rest is in the copy, if any
		}
		i := s.pickSibling(sibs, func(sib *sibling) bool {
			sameInode := sib.id.dev == p.Dev && sib.id.ino == p.Ino
			return !claimed[sib.id] && (t == nil || sib.id != t.id) && sib.size >= p.Offset &&
				(sameInode || p.FPLen > 0) && s.prefixMatches(sib.f, p)
		})
		if i < 0 {
			s.logger.Warn("rotated log file not found, its unread lines are lost",
				zap.String("path", path), zap.Int64("offset", p.Offset))
			continue
		}
		claimed[sibs[i].id] = true
		newest = min(newest, i)
		d := s.drainSibling(path, &sibs[i], p.Offset)
		d.skipping = p.InLongLine
		if p.NoneRead && sibs[i].id == (fileID{dev: p.Dev, ino: p.Ino}) {
			d.unseen, d.unseenMtime = savedSiblings(p), p.unseenMtime() // the first poll looks for its copies (copiedUnseen)
		}
		out = append(out, d)
	}
	if liveResumed || (newest == len(sibs) && s.savedAt > 0) {
		// Not rotated, or the file of the saved position is gone (deleted,
		// or rotated and compressed): only files changed after the
		// checkpoint can hold lines never seen; the others were read before
		// it, or are older than anything this source followed.
		newest = 0
	}
	if !liveResumed && !liveKnown && len(saved) > 0 {
		s.stats.Rotations.Add(1) // rotated while we were down: a new file is read from its start
	}
	changedAfter := int64(0)
	if s.savedAt > 0 {
		changedAfter = s.savedAt - int64(mtimeSlack)
	}
	return append(out, s.catchUpNewer(path, sibs, newest, changedAfter, t)...)
}

// lostTail resumes t, the same file as the saved position p (inode and
// first bytes) but now shorter than p's offset: the host went down before
// the file's last writes reached the disk, while the saved state (synced)
// did. Every line before the end was counted already, so reading goes on
// from the end, where the log's writer appends next; only the lost bytes,
// never seen again, are not re-read. It counts as a truncation.
func (s *fileSource) lostTail(t *tailer, p FilePos) {
	s.stats.Truncations.Add(1)
	s.logger.Warn("log file is shorter than its saved position (its end was lost in a crash?); "+
		"reading on from its end, nothing is counted twice",
		zap.String("path", t.path), zap.Int64("size", t.size), zap.Int64("saved_offset", p.Offset))
	s.seek(t, t.size)
}

// mtimeSlack covers the coarse clock of file times: the kernel stamps them
// from a clock that may lag the real time by a tick (1-10 ms). A file that
// was modified this little before a checkpoint and is not in it was closed
// after rotate_wait, which is far longer.
const mtimeSlack = 20 * time.Millisecond

// catchUpNewer reads whole the siblings that were never seen: those newer
// than sibs[known] (rotations made and rotated away again before we looked:
// while we were down, or twice between two polls), and, after a restart,
// those modified after the checkpoint (changedAfter, Unix nanoseconds; 0
// for none) that no saved position is on. It skips followed files and a
// copy of live that a copytruncate made before truncating it.
func (s *fileSource) catchUpNewer(path string, sibs []sibling, known int, changedAfter int64, live *tailer) []*tailer {
	var out []*tailer
	for i := range sibs {
		sib := &sibs[i]
		if i >= known && (changedAfter == 0 || sib.mtime.UnixNano() <= changedAfter) {
			continue
		}
		if sib.f == nil || s.following(sib.id) || (live != nil && (sib.id == live.id || s.isCopyOf(sib.f, live))) {
			continue
		}
		s.logger.Info("reading a rotated log file that was never seen", zap.String("file", sib.name))
		out = append(out, s.drainSibling(path, sib, 0))
	}
	return out
}

// pickSibling returns the index of the first (newest) sibling that ok
// accepts and that is not followed already, or -1.
func (s *fileSource) pickSibling(sibs []sibling, ok func(*sibling) bool) int {
	for i := range sibs {
		if sibs[i].f != nil && !s.following(sibs[i].id) && ok(&sibs[i]) {
			return i
		}
	}
	return -1
}

// following reports whether a file is followed already.
func (s *fileSource) following(id fileID) bool {
	for _, t := range s.live {
		if t.id == id {
			return true
		}
	}
	for _, t := range s.draining {
		if t.id == id {
			return true
		}
	}
	return false
}

// isCopyOf reports whether f may be a copy of t that a copytruncate made
// (or is making) and has not truncated t after yet: f's first bytes are
// the beginning of t's, an empty f included. Its lines are read from t, or
// from the copy once the truncation is seen; an empty rotated file that is
// not a copy holds no lines to miss.
func (s *fileSource) isCopyOf(f *os.File, t *tailer) bool {
	live := make([]byte, fpMax)
	n, _ := t.f.ReadAt(live, 0)
	m, _ := f.ReadAt(s.scratch, 0)
	return m <= n && bytes.Equal(s.scratch[:m], live[:m])
}

type sibling struct {
	name  string
	f     *os.File // open; nil once a tailer took it over
	id    fileID
	size  int64
	mtime time.Time
}

// siblings returns the uncompressed rotated versions of path (path.1,
// path-20260101, ...), open, newest first. A directory listing that runs
// while a rotation renames the files can miss one (a name moved behind the
// listing), so a listing is taken as the snapshot of one instant only when
// a second listing shows exactly the same names, each still naming the
// file opened (sameSiblings). When no two listings agree (a writer
// rotating faster than the directory can be listed), the union of what
// the attempts opened is returned, one entry per file: a file that one
// listing missed is then not taken for read, or for new, because it was
// not there (TestSiblingsListingMissesAFile). The order is by modification
// time, which a rename does not change, so the union is in the files'
// order. The caller closes them with closeSiblings.
func (s *fileSource) siblings(path string) []sibling {
	var union []sibling
	seen := map[fileID]int{}
	for range siblingAttempts {
		sibs, names := s.openSiblings(path)
		if s.sameSiblings(sibs, names, path) {
			closeSiblings(union)
			return sibs
		}
		for _, sib := range sibs {
			if i, ok := seen[sib.id]; ok {
				sib.f.Close()
				union[i].name = sib.name // its later name
				continue
			}
			seen[sib.id] = len(union)
			union = append(union, sib)
		}
	}
	base := filepath.Base(path)
	sort.Slice(union, func(i, j int) bool { return newerSibling(union[i], union[j], len(base)) })
	return union
}

// siblingAttempts bounds the listings siblings makes for a snapshot.
const siblingAttempts = 20

// openSiblings lists and opens the rotated versions of path, newest first,
// and returns the names it took for rotated versions, opened or not.
func (s *fileSource) openSiblings(path string) ([]sibling, map[string]bool) {
	dir, base := filepath.Split(path)
	ents, err := s.readDir(dir)
	if err != nil {
		return nil, nil
	}
	var out []sibling
	names := map[string]bool{}
	for _, e := range ents {
		n := e.Name()
		if !siblingEntry(base, e) {
			continue
		}
		names[n] = true
		f, fi, err := openRegular(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		out = append(out, sibling{name: f.Name(), f: f, id: statID(fi), size: fi.Size(), mtime: fi.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return newerSibling(out[i], out[j], len(base)) })
	return out, names
}

// siblingEntry reports whether a directory entry may be a rotated version
// of the file named base: named like one, and a regular file or a link
// (a FIFO named like a sibling, mail.log.pipe, is not; openRegular refuses
// one behind a link).
func siblingEntry(base string, e fs.DirEntry) bool {
	if !isSiblingName(base, e.Name()) {
		return false
	}
	t := e.Type()
	return t.IsRegular() || t&fs.ModeSymlink != 0
}

// isSiblingName reports whether name is that of a rotated version of the
// file named base: base followed by '.', '-' or '_' and more, not compressed.
func isSiblingName(base, name string) bool {
	if len(name) <= len(base) || !strings.HasPrefix(name, base) || isCompressed(name) {
		return false
	}
	c := name[len(base)]
	return c == '.' || c == '-' || c == '_'
}

// ModifiedSince reports whether a file that the patterns name, or a rotated
// version of one, was modified after ns (Unix nanoseconds, less the slack
// of file times), leaving out the files that saved positions are on (in
// st, a source's state): a restart reads those from their position. A
// directory that cannot be listed counts as modified. It opens nothing: a
// directory listing and a stat per file. The pipeline asks it before it
// leaves a state file as it was, SavedAt included: on a restart, a rotated
// file without a saved position that was modified after SavedAt is read
// whole (resumePath).
func ModifiedSince(patterns []string, ns int64, st *State) bool {
	after := ns - int64(mtimeSlack)
	known := map[fileID]bool{}
	if st != nil {
		for _, p := range st.Files {
			known[fileID{dev: p.Dev, ino: p.Ino}] = true
		}
	}
	changed := func(name string) bool {
		fi, err := os.Stat(name)
		return err == nil && fi.ModTime().UnixNano() > after && !known[statID(fi)]
	}
	for _, pat := range patterns {
		for _, path := range expandPattern(pat) {
			if changed(path) {
				return true
			}
			dir, base := filepath.Split(path)
			ents, err := os.ReadDir(dir)
			if err != nil {
				return !errors.Is(err, fs.ErrNotExist)
			}
			for _, e := range ents {
				if isSiblingName(base, e.Name()) && changed(filepath.Join(dir, e.Name())) {
					return true
				}
			}
		}
	}
	return false
}

// sameSiblings reports whether the directory holds exactly the names of
// rotated versions that were listed (names), and each file opened is still
// at its name: then no rotation tore the listing.
func (s *fileSource) sameSiblings(sibs []sibling, names map[string]bool, path string) bool {
	dir, base := filepath.Split(path)
	ents, err := s.readDir(dir)
	if err != nil {
		return false
	}
	n := 0
	for _, e := range ents {
		if !siblingEntry(base, e) {
			continue
		}
		if !names[e.Name()] {
			return false // a name the listing did not show
		}
		n++
	}
	if n != len(names) {
		return false
	}
	for _, sib := range sibs {
		fi, err := os.Stat(sib.name)
		if err != nil || statID(fi) != sib.id {
			return false
		}
	}
	return true
}

func closeSiblings(sibs []sibling) {
	for _, sib := range sibs {
		if sib.f != nil {
			sib.f.Close()
		}
	}
}

// newerSibling orders rotated files newest first: by modification time, and
// for equal times (file times are only as fine as the kernel tick) by name:
// mail.log.1 before mail.log.2, mail.log-20260102 before mail.log-20260101.
func newerSibling(a, b sibling, baseLen int) bool {
	if !a.mtime.Equal(b.mtime) {
		return a.mtime.After(b.mtime)
	}
	sa, sb := filepath.Base(a.name)[baseLen+1:], filepath.Base(b.name)[baseLen+1:]
	na, errA := strconv.Atoi(sa)
	nb, errB := strconv.Atoi(sb)
	if errA == nil && errB == nil {
		return na < nb
	}
	return sa > sb
}

// drainSibling takes over an open rotated file and follows it from offset
// until rotate_wait is over.
func (s *fileSource) drainSibling(path string, sib *sibling, offset int64) *tailer {
	t := &tailer{path: path, file: sib.name, f: sib.f, id: sib.id, size: sib.size, mtime: sib.mtime}
	sib.f = nil
	n, _ := t.f.ReadAt(s.scratch, 0)
	t.fp = append([]byte(nil), s.scratch[:n]...)
	s.seek(t, offset)
	t.drainUntil = s.clock.Now().Add(s.rotateWait)
	s.draining = append(s.draining, t)
	return t
}

// boundCatchUp skips the oldest bytes of the start-up catch-up beyond
// max_catchup_bytes.
func (s *fileSource) boundCatchUp(ts []*tailer) {
	var total int64
	for _, t := range ts {
		total += t.size - t.offset
	}
	excess := total - s.maxCatchUp
	if s.maxCatchUp <= 0 || excess <= 0 {
		return
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].mtime.Before(ts[j].mtime) })
	for _, t := range ts {
		if excess <= 0 {
			break
		}
		skip := min(excess, t.size-t.offset)
		excess -= skip
		s.stats.SkippedBytes.Add(uint64(skip))
		s.seek(t, t.offset+skip)
		if t.offset > 0 && t.offset < t.size {
			var b [1]byte
			if _, err := t.f.ReadAt(b[:], t.offset-1); err == nil && b[0] != '\n' {
				t.skipping = true // landed inside a line: drop its rest
			}
		}
	}
	s.logger.Warn("log catch-up exceeds max_catchup_bytes, oldest lines skipped",
		zap.Int64("catchup_bytes", total), zap.Int64("max_catchup_bytes", s.maxCatchUp))
}

// rotated retires t, which its path no longer names, and follows the new
// file (f, when there is one) from its start; it returns the new tailer.
func (s *fileSource) rotated(t *tailer, f *os.File, fi fs.FileInfo) *tailer {
	s.ckpt.Lock()
	defer s.ckpt.Unlock()
	s.stats.Rotations.Add(1)
	t.drainUntil = s.clock.Now().Add(s.rotateWait)
	s.draining = append(s.draining, t)
	delete(s.live, t.path)
	s.logger.Info("log file rotated", zap.String("path", t.path))
	var n *tailer
	if f != nil {
		n = s.newTailer(t.path, t.path, f, fi)
		s.live[t.path] = n
	}
	sibs := s.siblings(t.path)
	for i := range sibs {
		if sibs[i].id == t.id {
			s.catchUpNewer(t.path, sibs, i, 0, n)
			break
		}
	}
	closeSiblings(sibs)
	return n
}

// copiedUnseen reads whole the copies of t's lines that t was truncated
// after before any of them was read. A file opened empty (a new file after
// a rename, a file created by a copytruncate that emptied it) has no first
// bytes to recognise: if it is filled, copied and truncated between two
// polls, it is never seen shorter than its read position nor with other
// first bytes, and its truncation would go unnoticed with the copy unread.
// So while t has shown nothing (t.unseen), a change of the file (written,
// truncated: size or modification time) makes the follower look for
// rotated files that were not there before (t.unseen) and are not a copy
// of what t shows now (a copytruncate's copy made before its truncation:
// that one is read from t, or found by truncated). A copy of lines written
// to t after it was looked at is made after them, so it is not older than
// t's modification time then (t.unseenMtime; a copy that keeps the time of
// its original too): an older rotated file missing from t.unseen, because
// a listing torn by a rotation missed it or because the set was saved
// before a restart, was not copied from t, and reading it again counted
// its lines twice (TestCopiedUnseenOlderFileNotACopy; seen in TestTorture).
// It is called after t was read, so that t.fp is what was read of t; the
// caller holds no lock.
func (s *fileSource) copiedUnseen(t *tailer, mtime time.Time) {
	s.ckpt.Lock()
	defer s.ckpt.Unlock()
	sibs := s.siblings(t.path)
	defer closeSiblings(sibs)
	// When t drains (renamed away), the file now at its path may have been
	// copied by a copytruncate that has not truncated it yet: that copy is
	// read from it, or found by truncated, as in catchUpNewer.
	live := s.live[t.path]
	if live == t {
		live = nil
	}
	// Once t is renamed away, the rotated files newer than t are its
	// successors (read by rotated's or resumePath's catch-up); only older
	// ones can be copies of it.
	from := 0
	for i := range sibs {
		if sibs[i].id == t.id {
			from = i + 1
		}
	}
	for i := len(sibs) - 1; i >= from; i-- { // oldest first: the order they were written in
		sib := &sibs[i]
		if t.unseen[sib.id] || sib.f == nil || sib.size == 0 || sib.id == t.id || s.following(sib.id) ||
			(!t.unseenMtime.IsZero() && sib.mtime.Before(t.unseenMtime)) ||
			s.copyOfSeen(sib.f, t) || (live != nil && s.isCopyOf(sib.f, live)) {
			continue
		}
		s.stats.Truncations.Add(1)
		s.logger.Info("log file truncated before it was read, reading its copy",
			zap.String("path", t.path), zap.String("file", sib.name))
		s.drainSibling(t.path, sib, 0)
	}
	if len(t.fp) > 0 {
		t.unseen = nil // from now on its first bytes tell a truncation
		return
	}
	t.unseen, t.unseenMtime = map[fileID]bool{}, mtime
	for _, sib := range sibs {
		t.unseen[sib.id] = true
	}
}

// copyOfSeen reports whether f is a copy of what was read of t (t.fp):
// its first bytes are those of t.fp (or a beginning of them, a copy being
// made); nothing was read when t.fp is empty.
func (s *fileSource) copyOfSeen(f *os.File, t *tailer) bool {
	if len(t.fp) == 0 {
		return false
	}
	n, _ := f.ReadAt(s.scratch[:len(t.fp)], 0)
	return bytes.HasPrefix(t.fp, s.scratch[:n])
}

// savedSiblings returns the siblings saved with p.
func savedSiblings(p FilePos) map[fileID]bool {
	ids := make(map[fileID]bool, len(p.Siblings))
	for _, r := range p.Siblings {
		ids[fileID{dev: r.Dev, ino: r.Ino}] = true
	}
	return ids
}

// siblingIDs returns the identities of the rotated versions of path now.
func (s *fileSource) siblingIDs(path string) map[fileID]bool {
	ids := map[fileID]bool{}
	sibs := s.siblings(path)
	for _, sib := range sibs {
		ids[sib.id] = true
	}
	closeSiblings(sibs)
	return ids
}

// truncated handles a copytruncate: the unread rest of the old content is
// read from the copy among the siblings, the file itself from its start.
func (s *fileSource) truncated(t *tailer) {
	s.ckpt.Lock()
	defer s.ckpt.Unlock()
	s.stats.Truncations.Add(1)
	s.logger.Info("log file truncated", zap.String("path", t.path))
	sum := sha256.Sum256(t.fp)
	old := FilePos{Path: t.path, FPLen: len(t.fp), FP: hex.EncodeToString(sum[:]), Offset: t.offset}
	oldSize, skipping := t.size, t.skipping
	s.seek(t, 0)
	n, _ := t.f.ReadAt(s.scratch, 0)
	t.fp = append(t.fp[:0], s.scratch[:n]...)
	if old.FPLen == 0 {
		return
	}
	sibs := s.siblings(t.path)
	defer closeSiblings(sibs)
	i := s.pickSibling(sibs, func(sib *sibling) bool {
		return sib.id != t.id && sib.size >= old.Offset && s.prefixMatches(sib.f, old)
	})
	if i < 0 {
		if oldSize < old.Offset {
			s.logger.Warn("log file truncated and no copy found, its unread lines are lost",
				zap.String("path", t.path), zap.Int64("offset", old.Offset))
		}
		return
	}
	c := s.drainSibling(t.path, &sibs[i], old.Offset) // re-reads the partial line from there
	c.skipping = skipping
	s.catchUpNewer(t.path, sibs, i, 0, t) // copytruncated again before we looked
}
