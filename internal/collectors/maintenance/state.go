// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maintenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// FileName is the maintenance file in the state directory.
const FileName = "maintenance.json"

// MaxReason bounds the reason, in bytes; MaxFile the file read back.
const (
	MaxReason = 500
	maxFile   = 8 << 10
)

// MaxDuration bounds a window: a forgotten maintenance must not silence
// the host's alerts for ever.
const MaxDuration = 7 * 24 * time.Hour

// State is one maintenance window, as the file holds it.
type State struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Reason string    `json:"reason,omitempty"`
	// By is the user who started it (informative).
	By string `json:"by,omitempty"`
}

// Active reports whether the window covers now.
func (s State) Active(now time.Time) bool { return !now.Before(s.Start) && now.Before(s.End) }

// Path returns the maintenance file of a state directory.
func Path(stateDir string) string { return filepath.Join(stateDir, FileName) }

// Status is what the status page and `check` show: whether a window is
// set and covers now, and the window itself.
type Status struct {
	// Set: a maintenance file exists (active, or expired and not yet
	// stopped).
	Set    bool
	Active bool
	State
}

// Current reads the maintenance state of stateDir at now. No file is no
// maintenance, not an error; a file that cannot be read or decoded is an
// error that names it.
func Current(stateDir string, now time.Time) (Status, error) {
	s, ok, err := Read(stateDir)
	if err != nil || !ok {
		return Status{}, err
	}
	return Status{Set: true, Active: s.Active(now), State: s}, nil
}

// Read reads the file; ok is false when there is none.
func Read(stateDir string) (s State, ok bool, err error) {
	path := Path(stateDir)
	data, err := collectors.ReadFileMax(path, maxFile)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return State{}, false, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.check(); err != nil {
		return State{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return s, true, nil
}

func (s State) check() error {
	switch {
	case s.Start.IsZero() || s.End.IsZero():
		return errors.New("start and end are required")
	case !s.End.After(s.Start):
		return errors.New("end is not after start")
	case s.End.Sub(s.Start) > MaxDuration:
		return fmt.Errorf("window longer than %v", MaxDuration)
	}
	return CheckReason(s.Reason)
}

// CheckReason accepts a reason of at most MaxReason bytes of printable
// UTF-8 on one line: it is shown on terminals and in the status page.
func CheckReason(r string) error {
	switch {
	case len(r) > MaxReason:
		return fmt.Errorf("reason longer than %d bytes", MaxReason)
	case !utf8.ValidString(r):
		return errors.New("reason is not valid UTF-8")
	case strings.ContainsFunc(r, func(c rune) bool { return !unicode.IsPrint(c) }):
		return errors.New("reason has control characters (one line of printable text)")
	}
	return nil
}

// Write replaces the maintenance file atomically: a temporary file in the
// same directory, synced, renamed over the old one, and the directory
// synced, so that the daemon reads the old window or the new one, never a
// part. The file is world-readable (0644): it holds no secret, and the
// daemon's user must read what root wrote.
func Write(stateDir string, s State) error {
	if err := s.check(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(stateDir, ".maintenance-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: ENOENT, ignored
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), Path(stateDir)); err != nil {
		return err
	}
	return syncDir(stateDir)
}

// Remove ends maintenance: the file is deleted. It reports whether there
// was one.
func Remove(stateDir string) (bool, error) {
	err := os.Remove(Path(stateDir))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, syncDir(stateDir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
