// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package confval

import (
	"fmt"
	"path/filepath"
)

// FieldError is a validation problem at a YAML path. Path is relative to the
// section that produced it; the config loader prefixes it and adds the line.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errorf builds a FieldError.
func Errorf(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// CheckPath returns the problem of p, the file-system path at the YAML path
// at, if it is not absolute or not clean (as filepath.Clean writes it): none
// or one, for a Validate to append to the others.
func CheckPath(at, p string) []error {
	switch {
	case !filepath.IsAbs(p):
		return []error{Errorf(at, "must be an absolute path, got %q", p)}
	case filepath.Clean(p) != p:
		return []error{Errorf(at, "%q is not clean; write %q", p, filepath.Clean(p))}
	}
	return nil
}

// CheckOptionalPath is CheckPath for a path that may be left empty.
func CheckOptionalPath(at, p string) []error {
	if p == "" {
		return nil
	}
	return CheckPath(at, p)
}
