// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package backup

import "github.com/mailwatchd/mailwatchd/internal/collectors"

// FS is the file system as the collector sees it: the kit's, shared with
// mailbox. ReadDir and Stat are called from the listing goroutine, Open
// from the verifier, at the same time.
type FS = collectors.FS

// File is an open archive.
type File = collectors.File

// OSFS is the real file system.
type OSFS = collectors.OSFS
