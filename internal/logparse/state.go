// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mailwatchd/mailwatchd/internal/logparse/follow"
)

// stateFileName is the file in the state directory that holds positions and
// counters.
const stateFileName = "logparse-state.json"

const stateVersion = 1

// stateFile is what is saved: every source's positions and counters, and
// the pipeline's counters, taken together at one instant so that a restart
// continues exactly where the counts stopped (no line lost or counted twice).
type stateFile struct {
	Version  int                     `json:"version"`
	Sources  map[string]*sourceState `json:"sources"`
	Counters counterState            `json:"counters"`
}

// sourceState is one source's part of the state: its follower's positions
// and its counters.
type sourceState struct {
	follow.State
	Counters sourceCounterState `json:"counters"`
}

// loadState reads the state file of dir. A missing file is no error: it is
// the first start.
func loadState(dir string) (*stateFile, error) {
	if dir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, stateFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read log state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("parse log state %s: %w", filepath.Join(dir, stateFileName), err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("log state %s: unknown version %d", filepath.Join(dir, stateFileName), st.Version)
	}
	return &st, nil
}

// saveState writes the state atomically: a temporary file in dir (created
// if missing), synced, renamed over the old one, and the directory synced.
func saveState(dir string, st *stateFile) error {
	b, err := json.Marshal(st)
	if err != nil {
		return &saveError{"encode", err}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return &saveError{"create directory", err}
	}
	tmp, err := os.CreateTemp(dir, stateFileName+".tmp*")
	if err != nil {
		return &saveError{"create temporary file", err}
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return &saveError{"write", err}
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return &saveError{"sync", err}
	}
	if err := tmp.Close(); err != nil {
		return &saveError{"close", err}
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, stateFileName)); err != nil {
		return &saveError{"rename", err}
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: the rename is durable once the directory is
		d.Close()
	}
	return nil
}

// saveError is a failed save: the step that failed and the error.
type saveError struct {
	step string
	err  error
}

func (e *saveError) Error() string { return "save log state: " + e.step + ": " + e.err.Error() }
func (e *saveError) Unwrap() error { return e.err }

// key identifies the failure without the file names in the error (the
// temporary file's is random), so that a failure that repeats at every
// save is logged once.
func (e *saveError) key() string {
	var pe *fs.PathError
	if errors.As(e.err, &pe) {
		return e.step + ": " + pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(e.err, &le) {
		return e.step + ": " + le.Err.Error()
	}
	return e.Error()
}

// errorKey is what decides whether a save error is logged again.
func errorKey(err error) string {
	var se *saveError
	if errors.As(err, &se) {
		return se.key()
	}
	return err.Error()
}
