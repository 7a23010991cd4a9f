// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// readDirBatch is how many directory entries are held at once while a
// directory is read: a Maildir's cur/ with a million messages is streamed,
// never loaded whole (os.ReadDir would also sort it).
const readDirBatch = 1024

// FS is the file system as the collector sees it. Every call is one
// system-level operation, so a test can count them (the cache's whole point
// is to make a second run over unchanged mailboxes cost few of them).
// Implementations are used from one goroutine at a time.
type FS interface {
	// Stat follows symbolic links (a Maildir may be a link to other storage).
	Stat(name string) (fs.FileInfo, error)
	// ReadDir hands the entries of a directory to fn in unsorted batches;
	// an error from fn stops the reading and is returned. Calling Info on
	// an entry is an lstat.
	ReadDir(name string, fn func([]fs.DirEntry) error) error
	// Open opens a file for reading (mbox files).
	Open(name string) (File, error)
}

// File is an open mbox file.
type File interface {
	io.Reader
	io.ReaderAt
	io.Closer
}

// OSFS is the real file system.
type OSFS struct{}

// Stat implements FS.
func (OSFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// Open implements FS.
func (OSFS) Open(name string) (File, error) { return os.Open(name) }

// ReadDir implements FS.
func (OSFS) ReadDir(name string, fn func([]fs.DirEntry) error) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(readDirBatch)
		if len(ents) > 0 {
			if ferr := fn(ents); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &fs.PathError{Op: "readdir", Path: name, Err: err}
		}
	}
}

// stamp identifies one state of a directory or file: a change of content
// moves the modification time (and usually the size), a replacement changes
// the inode.
type stamp struct {
	mtime int64 // nanoseconds
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
