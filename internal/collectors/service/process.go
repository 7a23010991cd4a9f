// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
)

// processSource finds each configured service in the process table, for
// hosts where no systemd runs it (containers under supervisord or s6, other
// init systems). A service is running when its main process exists; its
// memory and CPU are those of the main process and all its descendants.
type processSource struct {
	procs    []Process
	proc     procfs
	pageSize float64

	mu       sync.Mutex
	last     map[string]identity // last main process seen running
	restarts map[string]float64  // restarts seen since mailwatchd started
}

// identity tells one incarnation of a main process from the next: a PID
// may be reused, but not at the same start time.
type identity struct {
	pid   int
	start uint64
}

func newProcessSource(procs []Process, procRoot string) *processSource {
	return &processSource{
		procs:    procs,
		proc:     procfs{root: procRoot},
		pageSize: float64(os.Getpagesize()),
		last:     map[string]identity{},
		restarts: map[string]float64{},
	}
}

// Query implements source.
func (s *processSource) Query(ctx context.Context) ([]status, error) {
	boot, err := s.proc.bootTime()
	if err != nil {
		return nil, fmt.Errorf("read boot time from %s: %w", s.proc.path("stat"), err)
	}
	all, err := s.proc.processes()
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	children := map[int][]int{}
	for pid, ps := range all {
		children[ps.PPID] = append(children[ps.PPID], pid)
	}
	out := make([]status, len(s.procs))
	for i := range s.procs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = s.service(&s.procs[i], all, children, boot)
	}
	return out, nil
}

func (s *processSource) service(p *Process, all map[int]procStat, children map[int][]int, boot int64) status {
	st := status{Name: p.Name, Optional: p.Optional, State: "inactive"}
	root, ok := s.find(p, all)
	if !ok {
		st.Present = installed(p)
		if n, seen := s.restartsOf(p.Name); seen || st.Present {
			st.Restarts = some(n)
		}
		return st
	}
	st.Present, st.State = true, "active"
	var rss, ticks uint64
	for _, pid := range tree(root.PID, children) {
		ps := all[pid]
		rss += ps.RSSPages
		// Children that ended and were waited for are in their parent's
		// cutime and cstime, so the sum only grows while the root lives.
		ticks += ps.UTime + ps.STime + ps.CUTime + ps.CSTime
	}
	st.StartTime = some(float64(boot) + float64(root.StartTime)/userHZ)
	st.MemoryBytes = some(float64(rss) * s.pageSize)
	st.CPUSeconds = some(float64(ticks) / userHZ)
	st.Restarts = some(s.sawRunning(p.Name, identity{pid: root.PID, start: root.StartTime}))
	return st
}

// find returns the service's main process: the one in its pidfile when that
// is alive and fits comm and cmdline, else the oldest matching process
// whose parent does not match too (the root of the service's tree).
func (s *processSource) find(p *Process, all map[int]procStat) (procStat, bool) {
	if p.Pidfile != "" {
		// An unreadable or stale pidfile is normal (Postfix, Dovecot and
		// fail2ban write theirs for root only): the name search follows.
		if b, err := os.ReadFile(p.Pidfile); err == nil {
			if pid, err := parsePidfile(b); err == nil {
				if ps, ok := all[pid]; ok && alive(ps) && s.matches(p, ps) {
					return ps, true
				}
			}
		}
	}
	if p.Comm == "" {
		return procStat{}, false
	}
	var roots []procStat
	for _, ps := range all {
		if !alive(ps) || !s.matches(p, ps) {
			continue
		}
		if parent, ok := all[ps.PPID]; ok && alive(parent) && s.matches(p, parent) {
			continue
		}
		roots = append(roots, ps)
	}
	if len(roots) == 0 {
		return procStat{}, false
	}
	sort.Slice(roots, func(i, j int) bool {
		if roots[i].StartTime != roots[j].StartTime {
			return roots[i].StartTime < roots[j].StartTime
		}
		return roots[i].PID < roots[j].PID
	})
	return roots[0], true
}

// matches checks a process against comm and cmdline; with neither set (a
// pidfile alone) any process matches.
func (s *processSource) matches(p *Process, ps procStat) bool {
	if p.Comm != "" && ps.Comm != p.Comm {
		return false
	}
	if p.Cmdline.Regexp == nil {
		return true
	}
	cmd, err := s.proc.cmdline(ps.PID)
	return err == nil && p.Cmdline.MatchString(cmd)
}

// alive is false for zombies (ended, not yet waited for) and kernel
// threads.
func alive(ps procStat) bool {
	return ps.State != 'Z' && ps.State != 'X' && !ps.kernelThread()
}

// tree returns root and all its descendants.
func tree(root int, children map[int][]int) []int {
	out := []int{root}
	seen := map[int]bool{root: true}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i]] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// installed reports whether a service that is not running is installed:
// its executable, or else its pidfile, exists. A path that cannot be
// checked (permission) counts as there.
func installed(p *Process) bool {
	path := p.Executable
	if path == "" {
		path = p.Pidfile
	}
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

// sawRunning records the main process seen now and returns the restarts
// counted so far: one each time the main process seen is not the one seen
// last, whether or not runs in between found the service stopped.
func (s *processSource) sawRunning(name string, id identity) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.last[name]; ok && prev != id {
		s.restarts[name]++
	}
	s.last[name] = id
	return s.restarts[name]
}

func (s *processSource) restartsOf(name string) (float64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, seen := s.last[name]
	return s.restarts[name], seen
}

// inherit takes over the restart counts and last main processes of the
// source a reload replaces, so the counters do not reset.
func (s *processSource) inherit(prev *processSource) {
	if prev == s {
		return
	}
	prev.mu.Lock()
	last := make(map[string]identity, len(prev.last))
	restarts := make(map[string]float64, len(prev.restarts))
	for k, v := range prev.last {
		last[k] = v
	}
	for k, v := range prev.restarts {
		restarts[k] = v
	}
	prev.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		if id, ok := last[p.Name]; ok {
			s.last[p.Name] = id
			s.restarts[p.Name] = restarts[p.Name]
		}
	}
}

// Close implements source.
func (s *processSource) Close() error { return nil }
