// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Without systemd the same chores run from cron (certbot's cron.d entry,
// /etc/cron.daily/apt-compat, which runs apt.systemd.daily), and leave
// traces instead of a unit's state. fileTimers reads them under the name of
// the timer each one stands for, so that alerts and dashboards are the
// same on both kinds of host:
//
//   - certbot.timer: certbot's debug log. certbot writes a new
//     letsencrypt.log per run and keeps the previous ones as
//     letsencrypt.log.1, .2, ... (newest first). A `certbot renew` run logs
//     "Arguments: [..., 'renew', ...]" at its start (certbot's main logs
//     its arguments as a Python list), and "Exiting abnormally:" when it
//     fails (its exception hook, at any log level), e.g. with
//     "1 renew failure(s), 0 parse failure(s)". The newest log of a renew
//     run gives the time (its modification time: certbot writes until it
//     exits) and the result.
//   - apt-daily.timer and apt-daily-upgrade.timer: apt.systemd.daily
//     touches /var/lib/apt/periodic/update-stamp after an apt-get update
//     and upgrade-stamp after an unattended-upgrade run, both only when
//     they succeeded. So the stamp is the last successful run, its age the
//     failure signal; the result of a failed unattended-upgrade run is the
//     updates collector's (its log).
//
// Other timers have no such trace and are not reported on these hosts.
type fileTimers struct {
	timers    []string
	certbot   string // certbot's log directory
	periodic  string // apt's periodic stamp directory
	maxBackup int    // rotated certbot logs looked at

	mu    sync.Mutex
	cache map[string]certbotRun // by file, valid while size and mtime hold
}

// certbotRun is what one certbot log says.
type certbotRun struct {
	size   int64
	mtime  time.Time
	renew  bool
	failed bool
}

// Timer names the file evidence stands for.
const (
	certbotTimer    = "certbot.timer"
	aptDailyTimer   = "apt-daily.timer"
	aptUpgradeTimer = "apt-daily-upgrade.timer"
)

// maxCertbotLog bounds what is read of one certbot log: a renew run with a
// few certificates writes tens of KiB.
const maxCertbotLog = 8 << 20

func newFileTimers(timers []string, certbotDir, periodicDir string) *fileTimers {
	return &fileTimers{timers: timers, certbot: certbotDir, periodic: periodicDir, maxBackup: 9, cache: map[string]certbotRun{}}
}

// Timers implements timerSource.
func (f *fileTimers) Timers(ctx context.Context) ([]timerStatus, error) {
	var out []timerStatus
	for _, t := range f.timers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch t {
		case certbotTimer:
			out = append(out, f.certbotStatus())
		case aptDailyTimer:
			out = append(out, stampStatus(t, filepath.Join(f.periodic, "update-stamp")))
		case aptUpgradeTimer:
			out = append(out, stampStatus(t, filepath.Join(f.periodic, "upgrade-stamp")))
		}
	}
	return out, nil
}

func stampStatus(timer, path string) timerStatus {
	ts := timerStatus{Name: timer}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Never succeeded, or not installed: present when apt's periodic
		// directory exists.
		if _, derr := os.Stat(filepath.Dir(path)); derr == nil {
			ts.Present = true
		}
	case err != nil:
		ts.Present, ts.Err = true, err
	default:
		ts.Present = true
		ts.LastTrigger = some(float64(fi.ModTime().UnixMilli()) / 1e3)
		ts.Success = some(1)
	}
	return ts
}

func (f *fileTimers) certbotStatus() timerStatus {
	ts := timerStatus{Name: certbotTimer}
	if _, err := os.Stat(f.certbot); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			ts.Present, ts.Err = true, err
		}
		return ts
	}
	ts.Present = true
	seen := map[string]bool{}
	for i := 0; i <= f.maxBackup; i++ {
		name := filepath.Join(f.certbot, "letsencrypt.log")
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		seen[name] = true
		run, err := f.readLog(name)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			ts.Err = err
			break
		}
		if run.renew {
			ts.LastTrigger = some(float64(run.mtime.UnixMilli()) / 1e3)
			ts.Success = some(boolFloat(!run.failed))
			break
		}
	}
	f.mu.Lock()
	for k := range f.cache {
		if !seen[k] {
			delete(f.cache, k)
		}
	}
	f.mu.Unlock()
	return ts
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var (
	// certbot logs "%(asctime)s:%(levelname)s:%(name)s:%(message)s"; the
	// arguments line of a renew run holds the list with 'renew' in it.
	renewArgs = regexp.MustCompile(`:certbot[._a-z]*:Arguments: \[[^\]\n]*'renew'`)
	abnormal  = []byte(":Exiting abnormally")
)

// readLog reads one certbot log, or takes it from the cache while its size
// and modification time are unchanged (rotation renames files: the cache is
// by name, and checked).
func (f *fileTimers) readLog(name string) (certbotRun, error) {
	fh, err := os.Open(name)
	if err != nil {
		return certbotRun{}, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return certbotRun{}, err
	}
	if !fi.Mode().IsRegular() {
		return certbotRun{}, fmt.Errorf("%s is not a regular file", name)
	}
	f.mu.Lock()
	c, ok := f.cache[name]
	f.mu.Unlock()
	if ok && c.size == fi.Size() && c.mtime.Equal(fi.ModTime()) {
		return c, nil
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxCertbotLog+1))
	if err != nil {
		return certbotRun{}, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxCertbotLog {
		return certbotRun{}, fmt.Errorf("%s: larger than %d bytes, not read", name, maxCertbotLog)
	}
	c = certbotRun{size: fi.Size(), mtime: fi.ModTime(), renew: renewArgs.Match(data), failed: bytes.Contains(data, abnormal)}
	f.mu.Lock()
	f.cache[name] = c
	f.mu.Unlock()
	return c, nil
}

var _ timerSource = (*fileTimers)(nil)
