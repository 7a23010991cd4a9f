// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectortest

import (
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// MapFS is a collectors.FS serving M under absolute paths
// ("/var/mail/alice" is "var/mail/alice" in M), so that golden files can
// name stable paths and times.
type MapFS struct{ M fstest.MapFS }

var _ collectors.FS = MapFS{}

func (f MapFS) rel(name string) string {
	if name == "/" {
		return "."
	}
	return strings.TrimPrefix(name, "/")
}

// Stat returns the file's information.
func (f MapFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(f.M, f.rel(name)) }

// ReadDir hands the entries of a directory to fn in one batch.
func (f MapFS) ReadDir(name string, fn func([]fs.DirEntry) error) error {
	ents, err := fs.ReadDir(f.M, f.rel(name))
	if err != nil {
		return err
	}
	return fn(ents)
}

// Open opens a file for reading.
func (f MapFS) Open(name string) (collectors.File, error) {
	fl, err := f.M.Open(f.rel(name))
	if err != nil {
		return nil, err
	}
	out, ok := fl.(collectors.File)
	if !ok {
		fl.Close()
		return nil, fmt.Errorf("open %s: %T is not a collectors.File", name, fl)
	}
	return out, nil
}
