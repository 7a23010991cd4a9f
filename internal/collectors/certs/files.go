// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func isGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// expandGlob returns the sorted matches of a pattern. No match is not an
// error when the directory the pattern starts from does not exist (certbot
// is not installed); it is when that directory cannot be read, because
// filepath.Glob hides permission errors and the files would silently
// vanish (certbot makes /etc/letsencrypt/live mode 0700).
func expandGlob(pattern string) ([]string, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	if len(matches) > 0 {
		return matches, nil
	}
	dir := staticDir(pattern)
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("glob %s: %w", pattern, err)
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("glob %s: %w", pattern, err)
	}
	return nil, nil
}

// staticDir is the longest directory prefix of a pattern without a
// wildcard: /etc/letsencrypt/live for /etc/letsencrypt/live/*/fullchain.pem.
func staticDir(pattern string) string {
	dir := filepath.Dir(pattern)
	for isGlob(dir) {
		dir = filepath.Dir(dir)
	}
	return dir
}

// fileSet is the file targets of one run, in a stable order: configured
// files and glob matches in config order, then discovered files.
type fileSet struct {
	paths    []string
	globErrs map[string]error // pattern -> why it could not be expanded
	dropped  int              // paths beyond max_files
}

func (s *fileSet) add(p string, limit int) {
	if slices.Contains(s.paths, p) {
		return
	}
	if len(s.paths) >= limit {
		s.dropped++
		return
	}
	s.paths = append(s.paths, p)
}
