// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"go.uber.org/zap"
)

// verdict is the outcome of reading one archive.
type verdict struct {
	file    fileStamp
	ok      bool
	entries int64 // tar entries; -1 for a bare compressed file
	at      time.Time
	reason  string
}

// job asks for one archive to be verified; done is closed when it ends.
type job struct {
	set  Set
	file fileStamp
	done chan struct{}
}

// errChanged: the archive changed while it was read (still being written,
// or replaced); no verdict, it is tried again next run.
var errChanged = errors.New("archive changed while it was read")

// request makes sure the set's archive f has a verdict younger than
// verify_interval, queueing a verification if not. It returns a channel
// closed when that verification ends, or nil when none is needed.
func (c *Collector) request(s Set, f fileStamp) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if j := c.pending[s.Name]; j != nil {
		return j.done // one at a time per set; a newer file waits for the next run
	}
	if v := c.verdicts[s.Name]; v != nil && v.file == f && c.now().Sub(v.at) < c.verifyInterval {
		return nil
	}
	if c.base.Err() != nil {
		return nil // closed
	}
	j := &job{set: s, file: f, done: make(chan struct{})}
	c.pending[s.Name] = j
	c.queue = append(c.queue, j)
	if !c.running {
		c.running = true
		c.wg.Add(1)
		go c.work()
	}
	return j.done
}

// work verifies the queued archives one at a time, so that verifications
// never add up their disk reads, and exits when the queue is empty.
func (c *Collector) work() {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		j := c.queue[0]
		c.queue = c.queue[1:]
		c.mu.Unlock()

		v, err := c.verify(j)
		c.mu.Lock()
		prev := c.verdicts[j.set.Name]
		if err == nil {
			c.verdicts[j.set.Name] = v
		}
		delete(c.pending, j.set.Name)
		c.mu.Unlock()
		close(j.done)
		c.logVerdict(j, prev, v, err)
	}
}

// verify reads one archive under verify_timeout and the read-rate cap. An
// error means there is no verdict (the archive changed meanwhile, or the
// collector was closed).
func (c *Collector) verify(j *job) (*verdict, error) {
	ctx, cancel := context.WithTimeout(c.base, c.verifyTimeout)
	defer cancel()
	v := &verdict{file: j.file, entries: -1}
	fail := func(format string, args ...any) (*verdict, error) {
		v.reason = fmt.Sprintf(format, args...)
		v.at = c.now()
		return v, nil
	}
	f, err := c.fsys.Open(j.file.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errChanged // rotated away since listed
	}
	if err != nil {
		return fail("open: %v", err)
	}
	defer f.Close()
	if !c.unchanged(f, j.file) {
		return nil, errChanged
	}
	p := &pacer{ctx: ctx, r: f, rate: c.rate, start: c.now(), now: c.now, wait: c.wait}
	entries, err := verifyStream(p, j.set.format())
	switch {
	case c.base.Err() != nil:
		return nil, c.base.Err()
	case !c.unchanged(f, j.file) || p.read != j.file.size && err == nil:
		return nil, errChanged
	case errors.Is(err, context.DeadlineExceeded):
		return fail("not read to the end within verify_timeout (%s) at %d bytes/s", c.verifyTimeout, c.rate)
	case err != nil:
		return fail("unreadable: %v", err)
	case j.file.size < j.set.MinSizeBytes:
		return fail("%d bytes, below min_size_bytes %d", j.file.size, j.set.MinSizeBytes)
	case entries >= 0 && entries < j.set.MinEntries:
		return fail("%d entries, below min_entries %d", entries, j.set.MinEntries)
	}
	v.ok, v.entries, v.at = true, entries, c.now()
	return v, nil
}

// unchanged compares the open file with the listed stamp.
func (c *Collector) unchanged(f File, want fileStamp) bool {
	fi, err := f.Stat()
	return err == nil && fi.Size() == want.size && fi.ModTime().UnixNano() == want.mtime
}

// logVerdict logs a verification whose outcome differs from the last.
func (c *Collector) logVerdict(j *job, prev, v *verdict, err error) {
	fields := []zap.Field{zap.String("backup", j.set.Name), zap.String("file", j.file.path)}
	switch {
	case errors.Is(err, errChanged):
		c.logger.Debug("backup archive changed while verified; trying again next run", fields...)
	case err != nil:
	case !v.ok && (prev == nil || prev.ok || prev.reason != v.reason):
		c.logger.Warn("backup archive failed verification", append(fields, zap.String("reason", v.reason))...)
	case v.ok && prev != nil && !prev.ok:
		c.logger.Info("backup archive verified again", fields...)
	}
}
