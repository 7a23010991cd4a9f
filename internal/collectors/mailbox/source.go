// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"io/fs"
	"syscall"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// FS is the file system as the collector sees it: the kit's, shared with
// backup. Every call is one system-level operation, so a test can count
// them (the cache's whole point is to make a second run over unchanged
// mailboxes cost few of them). Large directories (a Maildir's cur/ with a
// million messages) are streamed in batches, never loaded whole.
type FS = collectors.FS

// File is an open mbox file.
type File = collectors.File

// OSFS is the real file system.
type OSFS = collectors.OSFS

// readDirBatch is how many entries OSFS hands ReadDir's callback at once.
const readDirBatch = collectors.ReadDirBatch

// stamp identifies one state of a directory or file: a change of content
// moves the modification time (and usually the size), a replacement changes
// the inode.
type stamp struct {
	mtime int64 // nanoseconds
	ino   uint64
	size  int64
}

func stampOf(fi fs.FileInfo) stamp {
	s := stamp{mtime: fi.ModTime().UnixNano(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s
}
