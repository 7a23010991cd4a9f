// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
)

// expander walks a root pattern one path component at a time. Unlike
// filepath.Glob it reports the directories it could not read (a mailbox
// tree the daemon may not list must show up as a failure, not as "no
// mailboxes"), streams large directories, and hands over the parts the
// wildcards matched, which name the mailbox.
type expander struct {
	fsys  FS
	comps []string
	// fn receives every match; an error from it aborts the walk.
	fn    func(path string, parts []string) error
	abort error
	// errs are the directories that could not be listed.
	errs []error
	// absent: the directory holding the first wildcard does not exist,
	// so this host has no such root at all.
	absent bool
}

// expand calls fn for every path matching pattern (absolute and clean, see
// validatePattern). Wildcard matches before the last component must be
// directories, symbolic links to directories included; the type of the
// final match is left to fn. As in the shell, names beginning with "." are
// matched only by a component that begins with ".".
func expand(fsys FS, pattern string, fn func(path string, parts []string) error) *expander {
	e := &expander{fsys: fsys, comps: strings.Split(pattern[1:], "/"), fn: fn}
	e.walk(0, "", nil, true)
	return e
}

func (e *expander) walk(i int, dir string, parts []string, first bool) {
	for i < len(e.comps) && !hasMeta(e.comps[i]) {
		dir += "/" + e.comps[i]
		i++
	}
	if i == len(e.comps) {
		if err := e.fn(dir, parts); err != nil {
			e.abort = err
		}
		return
	}
	comp, last := e.comps[i], i == len(e.comps)-1
	listed := dir
	if listed == "" {
		listed = "/"
	}
	err := e.fsys.ReadDir(listed, func(ents []fs.DirEntry) error {
		for _, ent := range ents {
			name := ent.Name()
			if name[0] == '.' && comp[0] != '.' {
				continue
			}
			if ok, _ := filepath.Match(comp, name); !ok {
				continue
			}
			p := dir + "/" + name
			if !last && !e.isDir(p, ent) {
				continue
			}
			e.walk(i+1, p, append(parts[:len(parts):len(parts)], name), false)
			if e.abort != nil {
				return e.abort
			}
		}
		return nil
	})
	switch {
	case err == nil || e.abort != nil:
	case errors.Is(err, fs.ErrNotExist) && first:
		e.absent = true
	case errors.Is(err, fs.ErrNotExist):
		// Vanished between being listed by its parent and being read:
		// nothing lives there any more.
	default:
		e.errs = append(e.errs, err)
	}
}

func (e *expander) isDir(p string, ent fs.DirEntry) bool {
	if ent.IsDir() {
		return true
	}
	if ent.Type()&fs.ModeSymlink == 0 {
		return false
	}
	fi, err := e.fsys.Stat(p)
	return err == nil && fi.IsDir()
}

// mailboxName joins the wildcard parts into the mailbox label. A name that
// is not valid UTF-8 is kept as it is: collectors.Gauge escapes it into the
// label value, where a repair to U+FFFD here would merge distinct mailboxes.
func mailboxName(parts []string) string {
	return strings.Join(parts, "/")
}

// domainOf is the domain a mailbox belongs to: the first wildcard part when
// the pattern has several (/var/mail/vhosts/*/*), else what follows the
// last "@" of a directory named after an address (/var/vmail/*), else "".
func domainOf(parts []string) string {
	switch {
	case len(parts) >= 2:
		return parts[0]
	case len(parts) == 1:
		if i := strings.LastIndexByte(parts[0], '@'); i >= 0 && i < len(parts[0])-1 {
			return parts[0][i+1:]
		}
	}
	return ""
}
