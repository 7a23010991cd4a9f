// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package confval

import "fmt"

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
