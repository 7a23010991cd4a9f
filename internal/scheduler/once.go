// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package scheduler

import (
	"context"
	"sync"
)

// RunOnce runs every job once, in parallel, each under its own timeout,
// and returns a scheduler holding the results (for `mailwatchd check`).
// It returns when every run has finished or been abandoned at its deadline.
func RunOnce(ctx context.Context, s *Scheduler, jobs []Job) {
	s.mu.Lock()
	for _, j := range jobs {
		st := s.states[j.Name]
		if st == nil {
			st = &state{}
			s.states[j.Name] = st
		}
		st.job = j
	}
	s.changed()
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, j := range jobs {
		s.mu.Lock()
		st := s.states[j.Name]
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(ctx, st, j)
		}()
	}
	wg.Wait()
}
