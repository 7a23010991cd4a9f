// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package quarantine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// racyWindow: a directory whose mtime is this close to the moment it was
// listed may change again within the same timestamp tick without its mtime
// moving, so its cached listing is not trusted on the next run (as in the
// mailbox collector).
const racyWindow = 2 * time.Second

// stamp identifies one state of a directory: adding, removing or renaming
// an entry moves its mtime.
type stamp struct {
	mtime int64
	ino   uint64
	size  int64
}

func stampOf(fi fs.FileInfo) stamp {
	s := stamp{mtime: fi.ModTime().UnixNano(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s
}

// tally is what a set of files holds.
type tally struct {
	msgs, bytes int64
	oldest      int64 // Unix nanoseconds of the oldest file; 0 when none
}

func (t *tally) add(u tally) {
	t.msgs += u.msgs
	t.bytes += u.bytes
	if u.oldest != 0 && (t.oldest == 0 || u.oldest < t.oldest) {
		t.oldest = u.oldest
	}
}

// dirEntry caches one directory listing: its own files' tally and its
// subdirectories, for one stamp.
type dirEntry struct {
	st      stamp
	files   tally
	subdirs []string
	racy    bool
	gen     uint64
}

// cache holds one entry per directory visited by the last complete run.
type cache struct {
	gen  uint64
	dirs map[string]*dirEntry
}

func (c *cache) sweep() {
	for k, e := range c.dirs {
		if e.gen != c.gen {
			delete(c.dirs, k)
		}
	}
}

// scanner walks the sets through an FS, with the cache.
type scanner struct {
	fsys     collectors.FS
	cache    *cache
	now      func() time.Time
	maxDirs  int
	maxDepth int
	visited  int // directories visited in this run
}

// errTooMany: the run reached max_directories.
var errTooMany = errors.New("more directories than max_directories")

// dir returns the tally of a directory matched by a set's glob. A Maildir
// folder (it has cur/ or new/, like a .Junk folder) counts the messages in
// cur/ and new/ only: tmp/ holds deliveries in progress and the folder's
// own files are Dovecot's indexes. Any other directory (amavis's
// virusmails/, a spam quarantine) counts its regular files and those of its
// subdirectories down to max_depth. Names starting with "." are skipped.
func (s *scanner) dir(ctx context.Context, path string) (t tally, found bool, err error) {
	e, err := s.list(path)
	if err != nil || e == nil {
		return tally{}, false, err
	}
	if hasMaildirParts(e.subdirs) {
		var t tally
		var errs []error
		for _, sub := range []string{"cur", "new"} {
			u, err := s.tree(ctx, path+"/"+sub, 0)
			t.add(u)
			if err != nil {
				errs = append(errs, err)
			}
		}
		return t, true, errors.Join(errs...)
	}
	t, err = s.treeFrom(ctx, path, e, 0)
	return t, true, err
}

func hasMaildirParts(subdirs []string) bool {
	for _, d := range subdirs {
		if d == "cur" || d == "new" {
			return true
		}
	}
	return false
}

// tree tallies a directory and its subdirectories below depth max_depth.
func (s *scanner) tree(ctx context.Context, path string, depth int) (tally, error) {
	e, err := s.list(path)
	if err != nil || e == nil {
		return tally{}, err
	}
	return s.treeFrom(ctx, path, e, depth)
}

func (s *scanner) treeFrom(ctx context.Context, path string, e *dirEntry, depth int) (tally, error) {
	t := e.files
	if depth >= s.maxDepth {
		return t, nil
	}
	var errs []error
	for _, sub := range e.subdirs {
		if err := ctx.Err(); err != nil {
			return t, err
		}
		u, err := s.tree(ctx, path+"/"+sub, depth+1)
		t.add(u)
		if err != nil {
			errs = append(errs, err)
			if errors.Is(err, errTooMany) {
				break
			}
		}
	}
	return t, errors.Join(errs...)
}

// list returns a directory's entry: from the cache while its stamp is
// unchanged (one stat), else listed afresh with an lstat per file. A
// directory that does not exist (any more) is nil without error. The stat
// comes before the listing, so a file added during the listing moves the
// mtime past the cached stamp and the next run lists again.
func (s *scanner) list(path string) (*dirEntry, error) {
	fi, err := s.fsys.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, nil
	}
	if s.visited >= s.maxDirs {
		return nil, fmt.Errorf("%s: %w (%d)", path, errTooMany, s.maxDirs)
	}
	s.visited++
	st := stampOf(fi)
	if e := s.cache.dirs[path]; e != nil && e.st == st && !e.racy {
		e.gen = s.cache.gen
		return e, nil
	}
	e := &dirEntry{st: st, racy: s.now().Sub(fi.ModTime()) < racyWindow, gen: s.cache.gen}
	err = s.fsys.ReadDir(path, func(ents []fs.DirEntry) error {
		for _, ent := range ents {
			name := ent.Name()
			if name == "" || name[0] == '.' {
				continue
			}
			if ent.IsDir() {
				e.subdirs = append(e.subdirs, name)
				continue
			}
			if !ent.Type().IsRegular() {
				continue // symbolic links, sockets: not quarantined mail
			}
			info, err := ent.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // released or deleted meanwhile
			}
			if err != nil {
				return err
			}
			mt := info.ModTime().UnixNano()
			e.files.add(tally{msgs: 1, bytes: info.Size(), oldest: mt})
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		delete(s.cache.dirs, path)
		return nil, nil
	}
	if err != nil {
		delete(s.cache.dirs, path)
		return nil, err
	}
	s.cache.dirs[path] = e
	return e, nil
}

// expand calls fn with every directory the absolute glob matches, in
// lexical order per level. A * does not match a name starting with "."
// unless the pattern's component does (as in the shell). Symbolic links
// to directories are followed at the glob's levels. Directories that do
// not exist match nothing; an unreadable one is an error.
func expand(ctx context.Context, fsys collectors.FS, pattern string, fn func(dir string) error) error {
	comps := strings.Split(pattern[1:], "/")
	var walk func(i int, dir string) error
	walk = func(i int, dir string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i == len(comps) {
			return fn(dir)
		}
		comp := comps[i]
		if !strings.ContainsAny(comp, `*?[\`) {
			return walk(i+1, filepath.Join(dir, comp))
		}
		var names []string
		err := fsys.ReadDir(dir, func(ents []fs.DirEntry) error {
			for _, ent := range ents {
				name := ent.Name()
				if name[0] == '.' && comp[0] != '.' {
					continue
				}
				if ok, _ := filepath.Match(comp, name); ok {
					names = append(names, name)
				}
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		if err != nil {
			return err
		}
		sort.Strings(names)
		var errs []error
		for _, n := range names {
			if err := walk(i+1, filepath.Join(dir, n)); err != nil {
				if ctx.Err() != nil || errors.Is(err, errTooMany) {
					return err
				}
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	return walk(0, "/")
}
