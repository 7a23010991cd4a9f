// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/logparse/follow"
)

// runner is a running source.
type runner struct {
	cfg    SourceConfig
	src    follow.Follower
	cancel context.CancelFunc
	done   chan struct{}
}

// Pipeline follows the configured log sources, classifies every line and
// keeps the counters; it is a prometheus.Collector. Counters are created
// once and survive Apply; with a state directory they also survive restarts.
type Pipeline struct {
	logger   *zap.Logger
	counters *counters
	rules    atomic.Pointer[ruleSet]
	// ckpt makes a checkpoint consistent: a source holds it shared while it
	// counts lines and advances its positions together; the saver holds it
	// exclusively while it copies positions and counters.
	ckpt       sync.RWMutex
	clock      follow.Clock
	journalctl string // path of journalctl; "" = look it up in PATH
	descs      *descs
	stateDir   string

	restored bool // counters came from a saved state

	mu      sync.Mutex
	cfg     Config
	saved   map[string]*follow.State // positions of sources that are not running
	runners map[string]*runner
	runCtx  context.Context // nil while Run is not running
	saveErr string          // errorKey of the last save error logged
	// lastSaved is what the last successful save wrote, with the
	// sources' SavedAt left out, and lastSavedAt the earliest SavedAt it
	// wrote (see unchangedSince).
	lastSaved   []byte
	lastSavedAt int64
}

// New builds a pipeline from a validated config. stateDir ("" for none)
// holds the saved positions and counters; a state file that cannot be read
// is logged and ignored (the sources then start as on a first start).
func New(cfg Config, stateDir string, logger *zap.Logger) (*Pipeline, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p := &Pipeline{
		logger:   logger,
		counters: newCounters(),
		clock:    follow.RealClock{},
		descs:    newDescs(),
		stateDir: stateDir,
		cfg:      cfg,
		saved:    map[string]*follow.State{},
		runners:  map[string]*runner{},
	}
	rs, err := p.counters.newRuleSet(cfg.Rules, cfg.Providers, cfg.Services)
	if err != nil {
		return nil, err
	}
	p.rules.Store(rs)
	p.counters.sasl.configure(cfg.SASLWindow.D(), cfg.SASLTopSenders, cfg.SASLMaxUsers, cfg.SASLMaxQueueIDs)
	st, err := loadState(stateDir)
	if err != nil {
		logger.Warn("ignoring unreadable log state, starting afresh", zap.Error(err))
	}
	if st != nil {
		p.counters.restore(st.Counters)
		p.restored = true
	}
	for _, sc := range cfg.Sources {
		ctr := p.counters.source(sc.Name)
		if st == nil || st.Sources[sc.Name] == nil {
			continue
		}
		ss := st.Sources[sc.Name]
		ctr.restore(ss.Counters)
		if ss.Kind == sc.Type {
			p.saved[sc.Name] = &ss.State
		}
	}
	return p, nil
}

// Peek is what `mailwatchd check` knows of the logs without following them:
// the counters and last-line times the daemon saved last (restored by New),
// and, for file sources without a saved last-line time, the time written in
// the last line of each of their files. It reports whether the counters come
// from a saved state; if not, they are all zero and say nothing.
func (p *Pipeline) Peek() (restored bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, sc := range p.cfg.Sources {
		ctr := p.counters.source(sc.Name)
		if sc.Type != SourceFile || ctr.lastLineTS.Load() != 0 {
			continue
		}
		follow.PeekLastLines(sc.Paths, p.newSink(ctr))
	}
	return p.restored
}

// Run follows the sources until ctx is done, saving positions and counters
// every state_save_interval and once more on the way out. It returns the
// error of that last save, if any.
func (p *Pipeline) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.runCtx != nil {
		p.mu.Unlock()
		return errors.New("log pipeline already running")
	}
	p.runCtx = ctx
	for i := range p.cfg.Sources {
		p.startLocked(&p.cfg.Sources[i])
	}
	interval, n := p.cfg.StateSaveInterval.D(), len(p.cfg.Sources)
	p.mu.Unlock()
	p.logger.Info("log pipeline started", zap.Int("sources", n))

	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			_ = p.save()
		case <-ctx.Done():
			p.mu.Lock()
			for name := range p.runners {
				p.stopLocked(name)
			}
			p.runCtx = nil
			p.mu.Unlock()
			return p.save()
		}
	}
}

// Apply switches to a new validated config (a reload): the rules are
// replaced at once (removed rules' series disappear, new ones start at 0),
// sources whose settings did not change keep running undisturbed, changed
// ones restart from their current positions, removed ones stop.
func (p *Pipeline) Apply(cfg Config) error {
	if errs := cfg.Validate(); len(errs) > 0 {
		return errors.Join(errs...)
	}
	rs, err := p.counters.newRuleSet(cfg.Rules, cfg.Providers, cfg.Services)
	if err != nil {
		return err
	}
	p.rules.Store(rs)
	p.counters.sasl.configure(cfg.SASLWindow.D(), cfg.SASLTopSenders, cfg.SASLMaxUsers, cfg.SASLMaxQueueIDs)

	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.cfg
	p.cfg = cfg
	keep := map[string]bool{}
	for i := range cfg.Sources {
		sc := &cfg.Sources[i]
		keep[sc.Name] = true
		r := p.runners[sc.Name]
		if r != nil && reflect.DeepEqual(r.cfg, *sc) && sameFollowSettings(&old, &cfg) {
			continue
		}
		if r != nil {
			p.stopLocked(sc.Name)
		}
		if s := p.saved[sc.Name]; s != nil && s.Kind != sc.Type {
			delete(p.saved, sc.Name)
		}
		p.counters.source(sc.Name)
		if p.runCtx != nil {
			p.startLocked(sc)
		}
	}
	for name := range p.runners {
		if !keep[name] {
			p.stopLocked(name)
		}
	}
	for name := range p.saved {
		if !keep[name] {
			delete(p.saved, name)
		}
	}
	p.counters.retainSources(keep)
	p.counters.gen.Add(1) // rules and sources changed (ScrapeKey)
	p.logger.Info("log pipeline reconfigured", zap.Int("sources", len(cfg.Sources)), zap.Int("rules", len(cfg.Rules)))
	return nil
}

// sameFollowSettings reports whether running sources can keep going.
func sameFollowSettings(a, b *Config) bool {
	return a.PollInterval == b.PollInterval && a.RotateWait == b.RotateWait && a.StartAt == b.StartAt &&
		a.MaxCatchUp == b.MaxCatchUp
}

// newSink returns a sink that counts into ctr (a source's counters).
func (p *Pipeline) newSink(ctr *sourceCounters) *sink {
	return newSink(&p.rules, p.counters, ctr, p.clock.Now)
}

func (p *Pipeline) startLocked(sc *SourceConfig) {
	saved := p.saved[sc.Name]
	delete(p.saved, sc.Name)
	ctr := p.counters.source(sc.Name)
	env := follow.Env{
		Logger:     p.logger.With(zap.String("source", sc.Name)),
		Sink:       p.newSink(ctr),
		Stats:      &ctr.Stats,
		Checkpoint: p.ckpt.RLocker(),
		Clock:      p.clock,
		Watch:      follow.NewInotify,
	}
	var src follow.Follower
	if sc.Type == SourceJournal {
		src = follow.NewJournal(follow.JournalOptions{Units: sc.Units, Identifiers: sc.Identifiers,
			StartAtEnd: p.cfg.StartAt == StartEnd, Journalctl: p.journalctl}, env, saved)
	} else {
		src = follow.NewFile(follow.FileOptions{Patterns: sc.Paths, PollInterval: p.cfg.PollInterval.D(),
			RotateWait: p.cfg.RotateWait.D(), MaxCatchUp: int64(p.cfg.MaxCatchUp),
			StartAtEnd: p.cfg.StartAt == StartEnd}, env, saved)
	}
	ctx, cancel := context.WithCancel(p.runCtx)
	r := &runner{cfg: *sc, src: src, cancel: cancel, done: make(chan struct{})}
	p.runners[sc.Name] = r
	go func() {
		defer close(r.done)
		src.Run(ctx)
	}()
}

// stopLocked stops a runner and keeps its positions for a later start.
func (p *Pipeline) stopLocked(name string) {
	r := p.runners[name]
	r.cancel()
	<-r.done
	delete(p.runners, name)
	p.saved[name] = r.src.Checkpoint()
}

// save writes the state file; positions and counters are copied together
// while every source is between two chunks.
func (p *Pipeline) save() error {
	if p.stateDir == "" {
		return nil
	}
	p.mu.Lock()
	st := &stateFile{Version: stateVersion, Sources: map[string]*sourceState{}}
	p.ckpt.Lock()
	for _, sc := range p.cfg.Sources {
		ss := &sourceState{}
		if r := p.runners[sc.Name]; r != nil {
			ss.State = *r.src.Checkpoint()
		} else if s := p.saved[sc.Name]; s != nil {
			ss.State = *s
		} else {
			continue
		}
		ss.Counters = p.counters.source(sc.Name).snapshot()
		st.Sources[sc.Name] = ss
	}
	st.Counters = p.counters.snapshot()
	p.ckpt.Unlock()
	key, unchanged := p.unchangedSince(st)
	if unchanged {
		p.mu.Unlock()
		return nil
	}
	if ce := p.logger.Check(zap.DebugLevel, "saving log state"); ce != nil {
		ce.Write(zap.Any("state", st))
	}
	err := saveState(p.stateDir, st)
	if err == nil {
		p.lastSaved, p.lastSavedAt = key, earliestSavedAt(st)
	}
	if err != nil {
		p.counters.stateSaveFailures.Add(1)
		if key := errorKey(err); p.saveErr != key {
			p.logger.Error("cannot save log positions", zap.Error(err))
			p.saveErr = key
		}
	} else if p.saveErr != "" {
		p.logger.Info("log positions saved again")
		p.saveErr = ""
	}
	p.mu.Unlock()
	return err
}

// unchangedSince encodes st without its sources' SavedAt and reports
// whether that is what the last successful save wrote, the state file is
// still there and no followed file or rotated version of one was modified
// since that save: then writing it again would only move SavedAt forward,
// and an idle daemon would encode, write and fsync the same file every
// state_save_interval (a tenth of its idle CPU, profiled). SavedAt is what a
// restart compares file times with (follow's resumePath: a rotated file
// without a saved position modified after it is read whole), which is why a
// modified file forces the write: an older SavedAt would have the restart
// read again a rotated file that was read to its end and closed, and was
// written to after that. It returns the encoding to remember once the save
// succeeds.
func (p *Pipeline) unchangedSince(st *stateFile) ([]byte, bool) {
	at := make(map[string]int64, len(st.Sources))
	for name, ss := range st.Sources {
		at[name], ss.SavedAt = ss.SavedAt, 0
	}
	key, err := json.Marshal(st)
	for name, ss := range st.Sources {
		ss.SavedAt = at[name]
	}
	if err != nil || p.lastSaved == nil || !bytes.Equal(key, p.lastSaved) {
		return key, false
	}
	if _, err := os.Stat(filepath.Join(p.stateDir, stateFileName)); err != nil {
		return key, false // removed (or unreadable) since: write it again
	}
	for _, sc := range p.cfg.Sources {
		if ss := st.Sources[sc.Name]; ss != nil && ss.Kind == follow.KindFile &&
			follow.ModifiedSince(sc.Paths, p.lastSavedAt, &ss.State) {
			return key, false
		}
	}
	return key, true
}

// earliestSavedAt is the earliest SavedAt of st's sources (0 for none).
func earliestSavedAt(st *stateFile) int64 {
	var at int64
	for _, ss := range st.Sources {
		if ss.SavedAt != 0 && (at == 0 || ss.SavedAt < at) {
			at = ss.SavedAt
		}
	}
	return at
}

// Describe implements prometheus.Collector.
func (p *Pipeline) Describe(ch chan<- *prometheus.Desc) { p.descs.describe(ch) }

// Collect implements prometheus.Collector. It only reads counters.
func (p *Pipeline) Collect(ch chan<- prometheus.Metric) { p.counters.collect(p.descs, ch) }
