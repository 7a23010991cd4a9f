// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"time"
)

const (
	// maxFolderDepth bounds the recursion into LAYOUT=fs folders.
	maxFolderDepth = 16
	// racyWindow: a directory whose mtime is this close to the moment it
	// was read may still change within the same timestamp tick without its
	// mtime moving (git's "racy clean" problem), so its cached result is
	// not trusted on the next run.
	racyWindow = 2 * time.Second
)

// usage is what one mailbox, folder directory or mbox holds.
type usage struct {
	bytes, msgs int64
}

func (u *usage) add(v usage) {
	u.bytes += v.bytes
	u.msgs += v.msgs
}

// countEntry caches a cur/ or new/ directory: its totals for one stamp.
type countEntry struct {
	st   stamp
	u    usage
	racy bool
	gen  uint64
}

// listEntry caches a folder directory of a LAYOUT=fs Maildir or a Maildir
// root: its subdirectories (the folders) for one stamp.
type listEntry struct {
	st      stamp
	subdirs []string
	racy    bool
	gen     uint64
}

// cache remembers directory and mbox results between runs. Entries not
// visited by a complete run are dropped, so it holds one entry per
// directory (and mbox) that exists, never more.
type cache struct {
	gen    uint64
	counts map[string]*countEntry
	lists  map[string]*listEntry
	mboxes map[string]*mboxEntry
}

func newCache() *cache {
	return &cache{counts: map[string]*countEntry{}, lists: map[string]*listEntry{}, mboxes: map[string]*mboxEntry{}}
}

// sweep drops what the run that just completed did not visit.
func (c *cache) sweep() {
	for k, e := range c.counts {
		if e.gen != c.gen {
			delete(c.counts, k)
		}
	}
	for k, e := range c.lists {
		if e.gen != c.gen {
			delete(c.lists, k)
		}
	}
	for k, e := range c.mboxes {
		if e.gen != c.gen {
			delete(c.mboxes, k)
		}
	}
}

// scanner measures mailboxes through an FS, with the cache.
type scanner struct {
	fsys  FS
	cache *cache
	now   func() time.Time
}

func (s *scanner) racy(fi fs.FileInfo) bool {
	return s.now().Sub(fi.ModTime()) < racyWindow
}

// errNoMailbox: the path is not a mailbox of the root's format (a user
// without a Maildir, a directory where mbox files live); skipped quietly.
var errNoMailbox = errors.New("not a mailbox")

// maildir measures the Maildir at root: the messages in cur/ and new/ of
// the inbox and of every folder, Maildir++ (".Sent") and LAYOUT=fs
// ("Sent/") alike. tmp/ holds deliveries in progress, and Dovecot's index
// and uidlist files are not mail, so neither counts.
//
// Unchanged, it costs one stat per directory: the root, each LAYOUT=fs
// folder, and each cur/ and new/; nothing is read.
func (s *scanner) maildir(ctx context.Context, root string) (usage, error) {
	fi, err := s.fsys.Stat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return usage{}, errNoMailbox
	}
	if err != nil {
		return usage{}, err
	}
	if !fi.IsDir() {
		return usage{}, errNoMailbox
	}
	return s.folder(ctx, root, fi, 0)
}

// folder counts a folder directory (whose stat is fi) and its subfolders.
func (s *scanner) folder(ctx context.Context, dir string, fi fs.FileInfo, depth int) (usage, error) {
	var total usage
	var errs []error
	for _, sub := range []string{"cur", "new"} {
		u, err := s.countDir(ctx, dir+"/"+sub)
		total.add(u)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if ctx.Err() != nil {
		return total, ctx.Err()
	}
	subdirs, err := s.subfolders(dir, fi)
	if err != nil {
		return total, errors.Join(append(errs, err)...)
	}
	for _, name := range subdirs {
		p := dir + "/" + name
		if strings.HasPrefix(name, ".") {
			// Maildir++: ".Sent", ".Lists.Work"; all at the top level, so
			// only their cur/ and new/ matter.
			for _, sub := range []string{"cur", "new"} {
				u, err := s.countDir(ctx, p+"/"+sub)
				total.add(u)
				if err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		if depth >= maxFolderDepth {
			continue
		}
		sfi, err := s.fsys.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the listing
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		u, err := s.folder(ctx, p, sfi, depth+1)
		total.add(u)
		if err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
	return total, errors.Join(errs...)
}

// subfolders lists the directories under a folder that may be folders
// themselves, from the cache while the folder's stamp is unchanged.
// Symbolic links are not followed, so a link loop cannot recurse.
func (s *scanner) subfolders(dir string, fi fs.FileInfo) ([]string, error) {
	st := stampOf(fi)
	if e := s.cache.lists[dir]; e != nil && e.st == st && !e.racy {
		e.gen = s.cache.gen
		return e.subdirs, nil
	}
	var subdirs []string
	err := s.fsys.ReadDir(dir, func(ents []fs.DirEntry) error {
		for _, ent := range ents {
			switch name := ent.Name(); {
			case !ent.IsDir(), name == "cur", name == "new", name == "tmp":
			default:
				subdirs = append(subdirs, name)
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		delete(s.cache.lists, dir)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.cache.lists[dir] = &listEntry{st: st, subdirs: subdirs, racy: s.racy(fi), gen: s.cache.gen}
	return subdirs, nil
}

// countDir totals the messages in a cur/ or new/ directory. The stat comes
// before the listing, so a message arriving during the listing moves the
// mtime past the cached stamp and the next run counts again.
func (s *scanner) countDir(ctx context.Context, dir string) (usage, error) {
	fi, err := s.fsys.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return usage{}, nil // a folder without new/ yet, or removed
	}
	if err != nil {
		return usage{}, err
	}
	if !fi.IsDir() {
		return usage{}, nil
	}
	st := stampOf(fi)
	if e := s.cache.counts[dir]; e != nil && e.st == st && !e.racy {
		e.gen = s.cache.gen
		return e.u, nil
	}
	var u usage
	err = s.fsys.ReadDir(dir, func(ents []fs.DirEntry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, ent := range ents {
			name := ent.Name()
			// Files starting with "." are not messages (maildir(5)).
			if name[0] == '.' || ent.IsDir() {
				continue
			}
			size, ok := sizeFromName(name)
			if !ok {
				info, err := ent.Info()
				if errors.Is(err, fs.ErrNotExist) {
					continue // moved (new/ -> cur/) or expunged meanwhile
				}
				if err != nil {
					return err
				}
				size = info.Size()
			}
			u.bytes += size
			u.msgs++
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return usage{}, nil
	}
	if err != nil {
		return u, err
	}
	s.cache.counts[dir] = &countEntry{st: st, u: u, racy: s.racy(fi), gen: s.cache.gen}
	return u, nil
}

// sizeFromName reads the Maildir++ size field of a message file name,
// "1700000000.M1P2.host,S=4321,W=4400:2,S": the file's size in bytes, so
// no stat is needed. Fields come after the unique part and before the
// ":2," info (hosts escape "," and ":" in their names as \054 and \072);
// some Windows-safe tools use "!" instead of ":".
func sizeFromName(name string) (int64, bool) {
	if i := strings.IndexAny(name, ":!"); i >= 0 {
		name = name[:i]
	}
	i := strings.Index(name, ",S=")
	if i < 0 {
		return 0, false
	}
	digits := name[i+3:]
	if j := strings.IndexByte(digits, ','); j >= 0 {
		digits = digits[:j]
	}
	if digits == "" || len(digits) > 18 {
		return 0, false
	}
	var n int64
	for k := 0; k < len(digits); k++ {
		c := digits[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
