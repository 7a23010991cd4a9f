// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package backup watches the admin's named backup sets, each a glob such
// as /root/mail-backup-*.tar.gz: the newest file's modification time and
// size and the number of files, so that an alert fires when the nightly
// backup stops appearing. Optionally it verifies the newest archive by
// reading it to the end (gzip, bzip2, xz or zstd stream intact, tar headers
// and entries readable, minimum size and entry count), at its own slower
// interval, at a capped read rate, in the background so that a large
// archive never holds up a run. An archive is verified once per
// verify_interval for a given (path, size, mtime): an unchanged archive is
// not read again sooner.
//
// Label values are the configured set names. Permissions: read access to
// the backup directories and, with verify, to the archives (often root's:
// /root needs root or CAP_DAC_READ_SEARCH).
package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

var (
	filesDesc = collectors.NewDesc(Name, "backup", "files",
		"Files matching the backup set's pattern.", "backup")
	newestTimeDesc = collectors.NewDesc(Name, "backup", "newest_timestamp_seconds",
		"Modification time of the newest file of the backup set, as a Unix timestamp; absent when there is none.", "backup")
	newestSizeDesc = collectors.NewDesc(Name, "backup", "newest_size_bytes",
		"Size of the newest file of the backup set in bytes; absent when there is none.", "backup")
	scanSuccessDesc = collectors.NewDesc(Name, "backup", "scan_success",
		"1 if the backup set's directory could be listed and its files examined.", "backup")
	verifySuccessDesc = collectors.NewDesc(Name, "backup", "verify_success",
		"1 if the last verified archive of the set was read to the end intact and met the minimums, 0 if not or if none was verified yet.", "backup")
	verifyTimeDesc = collectors.NewDesc(Name, "backup", "verify_timestamp_seconds",
		"When the last verification of the backup set finished, as a Unix timestamp; absent before the first.", "backup")
	verifiedFileTimeDesc = collectors.NewDesc(Name, "backup", "verified_file_timestamp_seconds",
		"Modification time of the archive the last verification read, as a Unix timestamp; absent before the first.", "backup")
	verifiedEntriesDesc = collectors.NewDesc(Name, "backup", "verified_entries",
		"Entries of the last verified tar archive of the set; absent for other formats and unreadable archives.", "backup")
)

// Collector is the backup collector. Close stops a verification in progress.
type Collector struct {
	sets           []Set
	verifyInterval time.Duration
	verifyTimeout  time.Duration
	rate           int64
	settle         time.Duration
	fsys           FS
	now            func() time.Time
	wait           func(context.Context, time.Duration) error
	logger         *zap.Logger

	base context.Context // verifications; cancelled by Close
	stop context.CancelFunc
	wg   sync.WaitGroup

	listing collectors.Guard[[]scan] // the listing, which may hang on a dead mount
	logs    collectors.LogOnChange   // scan problems, per set

	mu       sync.Mutex
	running  bool // the verifier goroutine is running
	queue    []*job
	pending  map[string]*job     // set name -> queued or running job
	verdicts map[string]*verdict // set name -> last conclusive verdict
}

// New builds the collector on the real file system.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	return newCollector(cfg, OSFS{}, time.Now, sleepCtx, logger), nil
}

func newCollector(cfg Config, fsys FS, now func() time.Time, wait func(context.Context, time.Duration) error, logger *zap.Logger) *Collector {
	base, stop := context.WithCancel(context.Background())
	return &Collector{
		sets:           append([]Set(nil), cfg.Sets...),
		verifyInterval: cfg.VerifyInterval.D(),
		verifyTimeout:  cfg.VerifyTimeout.D(),
		rate:           cfg.VerifyReadBytesPerSecond,
		settle:         cfg.SettleTime.D(),
		fsys:           fsys,
		now:            now,
		wait:           wait,
		logger:         logger,
		base:           base,
		stop:           stop,
		pending:        map[string]*job{},
		verdicts:       map[string]*verdict{},
	}
}

// Close cancels a verification in progress; it stops at its next read.
// Close does not wait for it: a read stuck on a dead mount must not hold up
// a reload.
func (c *Collector) Close() error {
	c.stop()
	return nil
}

// Inherit takes over the verdicts of the collector this one replaces on a
// reload, for the sets whose configuration is unchanged, so that a reload
// does not read every archive again. A verification the old collector had
// in progress is cancelled by its Close and started again here.
func (c *Collector) Inherit(prev collectors.Collector) {
	old, ok := prev.(*Collector)
	if !ok || old == c {
		return
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	before := map[string]Set{}
	for _, s := range old.sets {
		before[s.Name] = s
	}
	for _, s := range c.sets {
		if b, ok := before[s.Name]; ok && b == s && old.verdicts[s.Name] != nil {
			c.verdicts[s.Name] = old.verdicts[s.Name]
		}
	}
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, filesDesc, newestTimeDesc, newestSizeDesc, scanSuccessDesc,
		verifySuccessDesc, verifyTimeDesc, verifiedFileTimeDesc, verifiedEntriesDesc)
}

// fileStamp identifies one state of an archive.
type fileStamp struct {
	path  string
	size  int64
	mtime int64 // Unix nanoseconds
}

// scan is what one set's directory holds.
type scan struct {
	files   int
	newest  *fileStamp // newest file
	settled *fileStamp // newest file not modified within settle_time
	err     error
	absent  bool // the directory does not exist
}

// Update implements collectors.Collector. Listing runs under a guard
// (backups often live on network mounts that can hang); verification runs
// on the collector's own goroutine, and Update waits for the ones it
// started only while its deadline allows.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	if len(c.sets) == 0 {
		return fmt.Errorf("no backup sets configured: %w", collectors.ErrNotApplicable)
	}
	scans, err := c.listAll(ctx)
	if err != nil {
		return err
	}
	c.logScans(scans)
	var waits []chan struct{}
	for i, s := range c.sets {
		if s.Verify && scans[i].settled != nil {
			if done := c.request(s, *scans[i].settled); done != nil {
				waits = append(waits, done)
			}
		}
	}
	soft, cancel := softDeadline(ctx)
	defer cancel()
wait:
	for _, done := range waits {
		select {
		case <-done:
		case <-soft.Done():
			break wait
		}
	}
	failed := 0
	for _, sc := range scans {
		if sc.err != nil {
			failed++
		}
	}
	if failed == len(c.sets) {
		return fmt.Errorf("no backup set could be listed: %w", scans[0].err)
	}
	for i, s := range c.sets {
		c.emit(ch, s, scans[i])
	}
	return nil
}

// listAll lists every set under the listing guard: it returns at ctx's
// end, and no listing starts while an abandoned one has not returned.
func (c *Collector) listAll(ctx context.Context) ([]scan, error) {
	scans, err := c.listing.Do(ctx, func() []scan {
		scans := make([]scan, len(c.sets))
		for i, s := range c.sets {
			scans[i] = c.list(s)
		}
		return scans
	})
	if err != nil {
		return nil, fmt.Errorf("backup listing: %w", err)
	}
	return scans, nil
}

// list finds the files of a set and its newest, by modification time.
func (c *Collector) list(s Set) scan {
	dir, pattern := filepath.Split(s.Path)
	cutoff := c.now().Add(-c.settle).UnixNano()
	var sc scan
	err := c.fsys.ReadDir(filepath.Clean(dir), func(ents []fs.DirEntry) error {
		for _, ent := range ents {
			name := ent.Name()
			if name[0] == '.' && pattern[0] != '.' {
				continue
			}
			if ok, _ := filepath.Match(pattern, name); !ok {
				continue
			}
			p := filepath.Join(dir, name)
			fi, err := c.fsys.Stat(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed by backup rotation meanwhile
			}
			if err != nil {
				sc.err = err
				continue
			}
			if !fi.Mode().IsRegular() {
				continue
			}
			sc.files++
			st := fileStamp{path: p, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
			if newer(st, sc.newest) {
				sc.newest = &st
			}
			if st.mtime <= cutoff && newer(st, sc.settled) {
				sc.settled = &st
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		sc.absent = true // no backups at all: files 0 says it
	case err != nil:
		sc.err = err
	}
	return sc
}

func newer(a fileStamp, b *fileStamp) bool {
	return b == nil || a.mtime > b.mtime || a.mtime == b.mtime && a.path > b.path
}

// softDeadline leaves a tenth of the remaining time to the rest of the run.
func softDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-time.Until(dl)/10))
}

func (c *Collector) emit(ch chan<- prometheus.Metric, s Set, sc scan) {
	ch <- collectors.Gauge(scanSuccessDesc, collectors.B2F(sc.err == nil), s.Name)
	ch <- collectors.Gauge(filesDesc, float64(sc.files), s.Name)
	if sc.newest != nil {
		ch <- collectors.Gauge(newestTimeDesc, float64(sc.newest.mtime)/1e9, s.Name)
		ch <- collectors.Gauge(newestSizeDesc, float64(sc.newest.size), s.Name)
	}
	if !s.Verify {
		return
	}
	c.mu.Lock()
	v := c.verdicts[s.Name]
	c.mu.Unlock()
	if v == nil {
		ch <- collectors.Gauge(verifySuccessDesc, 0, s.Name)
		return
	}
	ch <- collectors.Gauge(verifySuccessDesc, collectors.B2F(v.ok), s.Name)
	ch <- collectors.Gauge(verifyTimeDesc, float64(v.at.UnixNano())/1e9, s.Name)
	ch <- collectors.Gauge(verifiedFileTimeDesc, float64(v.file.mtime)/1e9, s.Name)
	if v.ok && v.entries >= 0 {
		ch <- collectors.Gauge(verifiedEntriesDesc, float64(v.entries), s.Name)
	}
}

// logScans logs a set's listing problem when it starts or changes, and its
// recovery.
func (c *Collector) logScans(scans []scan) {
	for i, s := range c.sets {
		sc := scans[i]
		key, lvl, msg := "", zap.WarnLevel, "cannot list backup set"
		switch {
		case sc.err != nil:
			key = sc.err.Error()
		case sc.absent:
			key, lvl, msg = "absent", zap.InfoLevel, "backup directory does not exist"
		}
		if _, changed := c.logs.Change(s.Name, key); !changed {
			continue
		}
		if key == "" {
			c.logger.Info("backup set listable again", zap.String("backup", s.Name))
		} else if ce := c.logger.Check(lvl, msg); ce != nil {
			ce.Write(zap.String("backup", s.Name), zap.String("path", s.Path), zap.NamedError("error", sc.err))
		}
	}
}

var _ collectors.Collector = (*Collector)(nil)
