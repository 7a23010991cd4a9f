// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package updates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// Source gathers the facts. Its methods may block; the collector calls them
// from a goroutine it can abandon, never from two goroutines at once.
type Source interface {
	// Pending simulates the upgrade; an error wrapping fs.ErrNotExist means
	// there is no apt-get (not a Debian-family host).
	Pending(ctx context.Context) (Pending, error)
	// RebootRequired reports whether the reboot-required flag file exists.
	RebootRequired() (bool, error)
	// ListsUpdated returns the newest modification time of the package
	// lists' Release files; zero when there are none.
	ListsUpdated() (time.Time, error)
	// Unattended reports whether unattended-upgrades is installed and
	// enabled, and its last run.
	Unattended(ctx context.Context) (Unattended, error)
}

// Host is the Source of a Debian or Ubuntu host.
type Host struct {
	AptGet             string
	AptListsDir        string
	RebootRequiredFile string
	AptConfig          string
	UnattendedUpgrade  string
	UnattendedLog      string
}

// aptArgs simulate a full upgrade (dist-upgrade: new dependencies and
// kernel ABI bumps included, as unattended-upgrades would install them):
//   - -s needs no root: apt-get only reads the package lists and dpkg's
//     status, which are world-readable;
//   - Debug::NoLocking keeps it from even trying dpkg's lock, so it never
//     waits on or disturbs a running apt or unattended-upgrades;
//   - the note that a simulation as non-root is "only a simulation" is
//     turned off, it is noise in the output.
//
// It never runs apt update: refreshing the lists is network traffic and
// the system's job (apt-daily.timer); the lists' age is exported instead.
var aptArgs = []string{"-s", "-q", "-o", "Debug::NoLocking=1", "-o", "APT::Get::Show-User-Simulation-Note=false", "dist-upgrade"}

// maxAptOutput bounds what is kept of apt-get's output (about 200 bytes per
// package to upgrade).
const maxAptOutput = 16 << 20

// Pending implements Source. apt-get runs without a shell, in the C locale
// (its summary line is translated otherwise), in a process group of its own
// that is killed whole when ctx ends: apt-get starts dpkg and may start
// other helpers.
func (h Host) Pending(ctx context.Context) (Pending, error) {
	path, err := exec.LookPath(h.AptGet)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return Pending{}, fmt.Errorf("%s: %w", h.AptGet, fs.ErrNotExist)
		}
		return Pending{}, err
	}
	out, err := collectors.Command{
		Path: path, Args: aptArgs, Name: "apt-get -s dist-upgrade",
		Env:       []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "LANG=C"},
		Dir:       "/",
		OwnGroup:  true,
		MaxOutput: maxAptOutput,
	}.Output(ctx)
	if err != nil {
		return Pending{}, err
	}
	p, err := ParseSimulation(bytes.NewReader(out))
	if err != nil {
		return Pending{}, fmt.Errorf("apt-get -s dist-upgrade: %w", err)
	}
	return p, nil
}

// RebootRequired implements Source.
func (h Host) RebootRequired() (bool, error) {
	_, err := os.Stat(h.RebootRequiredFile)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// ListsUpdated implements Source. apt sets the mtime of a downloaded file
// to the server's Last-Modified, so this is the publication time of the
// newest archive index apt update fetched: when it gets old, apt update has
// stopped running and "0 pending" means nothing.
func (h Host) ListsUpdated() (time.Time, error) {
	entries, err := os.ReadDir(h.AptListsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	var newest time.Time
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), "Release") || !e.Type().IsRegular() {
			continue // InRelease or Release; not Release.gpg, Packages, ...
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed by a concurrent apt update
		}
		if fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	return newest, nil
}
