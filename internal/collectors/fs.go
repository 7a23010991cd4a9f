// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectors

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ReadDirBatch is how many directory entries OSFS.ReadDir holds at once: a
// Maildir's cur/ with a million messages is streamed, never loaded whole
// (os.ReadDir would also sort it).
const ReadDirBatch = 1024

// FS is the file system as a collector that walks directories sees it
// (backup, mailbox). Every call is one system-level operation, so a test
// can count them, inject errors, or make one hang like a dead mount.
// Implementations must allow calls from several goroutines at once (backup
// lists and verifies at the same time).
type FS interface {
	// Stat follows symbolic links (a Maildir or a backup directory may be
	// a link to other storage).
	Stat(name string) (fs.FileInfo, error)
	// ReadDir hands the entries of a directory to fn in unsorted batches;
	// an error from fn stops the reading and is returned. Calling Info on
	// an entry is an lstat.
	ReadDir(name string, fn func([]fs.DirEntry) error) error
	// Open opens a file for reading.
	Open(name string) (File, error)
}

// File is an open file of an FS; *os.File is one, and so is every file of
// an fstest.MapFS.
type File interface {
	io.Reader
	io.ReaderAt
	io.Closer
	Stat() (fs.FileInfo, error)
}

// OSFS is the real file system.
type OSFS struct{}

// Stat implements FS.
func (OSFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// Open implements FS.
func (OSFS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err // not a nil *os.File in a non-nil File
	}
	return f, nil
}

// ReadDir implements FS, ReadDirBatch entries at a time.
func (OSFS) ReadDir(name string, fn func([]fs.DirEntry) error) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(ReadDirBatch)
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

// ReadFileMax reads a whole file of at most max bytes: a larger one is an
// error that names it, so a log or a device put where a small config or
// state file belongs cannot fill memory. Errors of os.Open are returned as
// they are (errors.Is(err, fs.ErrNotExist) works).
func ReadFileMax(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return data, nil
}
