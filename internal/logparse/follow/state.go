// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package follow

import "time"

// State is where a follower stands: what it saves at a checkpoint and
// resumes from. The pipeline saves it as JSON, next to the source's
// counters.
type State struct {
	Kind     string    `json:"kind"`                  // KindFile or KindJournal
	Patterns []string  `json:"patterns,omitempty"`    // file: the paths and globs configured when saved
	Files    []FilePos `json:"files,omitempty"`       // file: the position in each file followed or draining
	Cursor   string    `json:"cursor,omitempty"`      // journal: the cursor of the last entry counted
	Since    int64     `json:"since_usec,omitempty"`  // journal: Unix microseconds of the first start
	SavedAt  int64     `json:"saved_at_ns,omitempty"` // file: when the positions were taken
}

// FilePos is the position in one file: its identity (device, inode, and a
// SHA-256 of its first FPLen bytes) and the offset of the first line not
// counted yet.
type FilePos struct {
	Path   string `json:"path"`           // the followed path
	File   string `json:"file,omitempty"` // the file's name when saved, if it differs (rotated)
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	FPLen  int    `json:"fp_len"`
	FP     string `json:"fp"`
	Offset int64  `json:"offset"`
	// InLongLine: Offset is inside a line longer than the line limit, which
	// was counted already (as malformed); its rest is skipped on resume.
	InLongLine bool `json:"in_long_line,omitempty"`
	// NoneRead: nothing of the file had been read (FPLen 0), and Siblings
	// are the rotated files there were when it was last looked at: one made
	// since may be the copy of lines never seen (a copytruncate), read on
	// resume.
	NoneRead bool      `json:"none_read,omitempty"`
	Siblings []FileRef `json:"siblings,omitempty"`
	// UnseenMtime is the file's modification time (Unix nanoseconds) when
	// Siblings were listed: a copy of lines written to it since is not
	// older. 0 when not known (a state saved before it was kept).
	UnseenMtime int64 `json:"unseen_mtime_ns,omitempty"`
}

// unseenMtime is UnseenMtime as a time, zero when not known.
func (p FilePos) unseenMtime() time.Time {
	if p.UnseenMtime == 0 {
		return time.Time{}
	}
	return time.Unix(0, p.UnseenMtime)
}

// FileRef identifies a file by device and inode.
type FileRef struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}
