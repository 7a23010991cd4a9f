// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package backup

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzVerifyStream: any bytes in any format end in a verdict, never a
// panic or a hang; the entry count is -1 exactly for bare streams.
func FuzzVerifyStream(f *testing.F) {
	tarball := tarBytes(f, 3, 100)
	f.Add(gzBytes(f, tarball), uint8(0))
	f.Add(tarball, uint8(4))
	f.Add(xzBytes(f, tarball), uint8(2))
	f.Add(zstBytes(f, tarball), uint8(3))
	f.Add(flipped(gzBytes(f, tarball)), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		format := formats[int(which)%len(formats)]
		entries, err := verifyStream(bytes.NewReader(data), format)
		if err == nil && (entries == -1) == strings.HasPrefix(format, "tar") {
			t.Errorf("format %s: %d entries", format, entries)
		}
	})
}
