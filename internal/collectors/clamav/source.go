// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package clamav

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Database is the header of one database and the file it came from.
type Database struct {
	File   string
	Header Header
}

// Source reads database headers. Its methods may block on a sick
// filesystem; the collector calls them from a goroutine it can abandon, and
// never from two goroutines at once.
type Source interface {
	// CheckDir returns an error wrapping fs.ErrNotExist when the database
	// directory does not exist (ClamAV is not installed).
	CheckDir(dir string) error
	// Read returns the header of database name in dir.
	Read(dir, name string) (Database, error)
}

// FileSource reads the files freshclam writes.
type FileSource struct{}

// extensions are the forms of a database: .cvd as downloaded whole, .cld
// once freshclam has applied daily diffs to it, .cud for an unsigned build
// (sigtool --unsigned), which clamd loads as well.
var extensions = []string{".cvd", ".cld", ".cud"}

// CheckDir implements Source.
func (FileSource) CheckDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("database directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("database directory %s is not a directory", dir)
	}
	return nil
}

// Read implements Source. When more than one of name.cvd, name.cld and
// name.cud exist (freshclam is between two), the one with the higher version
// counts, as it does
// for clamd. A file that exists but has no valid header is a failure even if
// the other one is fine: clamd would refuse to start on it.
func (FileSource) Read(dir, name string) (Database, error) {
	var best Database
	found := false
	for _, ext := range extensions {
		path := filepath.Join(dir, name+ext)
		h, err := readHeader(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Database{}, err
		}
		if !found || h.Version > best.Header.Version {
			best, found = Database{File: path, Header: h}, true
		}
	}
	if !found {
		return Database{}, fmt.Errorf("no %s.cvd, %s.cld or %s.cud in %s: %w", name, name, name, dir, fs.ErrNotExist)
	}
	return best, nil
}

func readHeader(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, err // *PathError names the file
	}
	defer f.Close()
	buf := make([]byte, HeaderSize)
	n, err := io.ReadFull(f, buf)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return Header{}, fmt.Errorf("%s: truncated: %d bytes, shorter than the %d-byte header", path, n, HeaderSize)
	case err != nil:
		return Header{}, fmt.Errorf("read %s: %w", path, err)
	}
	h, err := ParseHeader(buf)
	if err != nil {
		return Header{}, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}
