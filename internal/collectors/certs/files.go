// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"path/filepath"
	"slices"
	"strings"
)

func isGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

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
