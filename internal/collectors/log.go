// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectors

import (
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LogOnChange remembers, per key (a target, a path, a part of the run), the
// problem last logged, so that a collector logs a problem when it starts or
// changes and its end once, never the same problem every run. The scheduler
// does the same for a run's error; this is for the problems a run reports
// as data (a _success gauge at 0). It is safe for concurrent use; the zero
// value is ready.
type LogOnChange struct {
	mu   sync.Mutex
	last map[string]string
}

// Change records state as key's state and returns the state key had and
// whether the two differ. The empty state means "no problem": a key never
// seen has it, and a key whose state becomes empty is forgotten. Callers
// that log more than one kind of state, or build their own messages, use
// Change; the others use Note.
func (l *LogOnChange) Change(key, state string) (prev string, changed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev = l.last[key]
	if prev == state {
		return prev, false
	}
	if state == "" {
		delete(l.last, key)
	} else {
		if l.last == nil {
			l.last = map[string]string{}
		}
		l.last[key] = state
	}
	return prev, true
}

// Retain forgets every key for which keep is false (a target gone from the
// configuration): its recovery is no longer awaited, and a problem of a key
// that comes back is logged afresh.
func (l *LogOnChange) Retain(keep func(key string) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.last {
		if !keep(k) {
			delete(l.last, k)
		}
	}
}

// Problem is how Note logs one kind of problem.
type Problem struct {
	// Level is the level of Failed (zap.WarnLevel for most problems,
	// zap.InfoLevel for "not on this host").
	Level zapcore.Level
	// Failed is logged, with the fields and the error, when a problem
	// starts or changes.
	Failed string
	// Recovered is logged at info, with the fields, when a problem ends;
	// empty: the end is not logged.
	Recovered string
	// Key, when set, is what must change for a failure to be logged again,
	// leaving out what differs every run (a local port, the current time);
	// nil: the error's text.
	Key func(error) string
}

// Note logs err as key's problem when it is new or differs from the one
// last logged, and key's recovery when err is nil after a problem; it
// reports whether it logged.
func (l *LogOnChange) Note(logger *zap.Logger, key string, err error, p Problem, fields ...zap.Field) bool {
	state := ""
	if err != nil {
		state = err.Error()
		if p.Key != nil {
			state = p.Key(err)
		}
	}
	_, changed := l.Change(key, state)
	switch {
	case !changed:
		return false
	case err == nil:
		if p.Recovered != "" {
			logger.Info(p.Recovered, fields...)
		}
	default:
		if ce := logger.Check(p.Level, p.Failed); ce != nil {
			ce.Write(append(fields[:len(fields):len(fields)], zap.Error(err))...)
		}
	}
	return true
}
