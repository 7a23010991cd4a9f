// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package backup

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// FS is the file system as the collector sees it. ReadDir and Stat are
// called from the listing goroutine, Open from the verifier; an
// implementation must allow both at once.
type FS interface {
	// ReadDir hands a directory's entries to fn in unsorted batches; an
	// error from fn stops the reading and is returned.
	ReadDir(name string, fn func([]fs.DirEntry) error) error
	// Stat follows symbolic links.
	Stat(name string) (fs.FileInfo, error)
	// Open opens an archive for reading.
	Open(name string) (File, error)
}

// File is an open archive.
type File interface {
	io.Reader
	io.Closer
	Stat() (fs.FileInfo, error)
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
		ents, err := d.ReadDir(1024)
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
