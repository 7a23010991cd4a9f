// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package clamav

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// header builds a 512-byte header from its colon-separated text, padded
// with spaces as sigtool does.
func header(text string) []byte {
	return []byte(text + strings.Repeat(" ", HeaderSize-len(text)))
}

// writeDB writes a database file: a header and a few bytes of body.
func writeDB(t *testing.T, dir, file, text string) {
	t.Helper()
	data := append(header(text), []byte("\x1f\x8b body")...)
	if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
