// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import "context"

// States are the values of the state label, systemd's ActiveState values.
// Every one is exported for every unit (one-hot), so alerts can match on
// state="failed" without waiting for the series to appear.
var States = []string{"active", "reloading", "inactive", "failed", "activating", "deactivating"}

// source is where a backend's facts come from.
//
// Query returns one status per configured service, in config order, or an
// error when nothing it learned can be trusted (the bus is gone, systemd did
// not answer, /proc is unreadable). A failure limited to one service's
// figures is its status's Err. Query must return soon after ctx is done; the
// collector never calls it concurrently with itself. Close releases what the
// source holds and may be called while a Query is stuck.
type source interface {
	Query(ctx context.Context) ([]status, error)
	Close() error
}

// status is what one run learned about one service.
type status struct {
	// Name is the configured unit or process name: the unit label.
	Name     string
	Optional bool
	// Present reports whether the service is installed here.
	Present bool
	// State is systemd's ActiveState, or active/inactive for processes. A
	// value outside States (systemd's newer "maintenance", "refreshing") is
	// exported as all zeros.
	State string
	// The figures; each one is unset when the backend does not know it.
	Restarts    optional
	StartTime   optional // Unix seconds
	MemoryBytes optional
	CPUSeconds  optional
	// Err is why some figure could not be read; State and Present are good.
	Err error
}

// optional is a figure that may be unknown.
type optional struct {
	v  float64
	ok bool
}

func some(v float64) optional { return optional{v: v, ok: true} }

// running reports whether a state means the service's processes are up, so
// a start time is meaningful.
func running(state string) bool {
	switch state {
	case "active", "reloading", "deactivating":
		return true
	}
	return false
}
