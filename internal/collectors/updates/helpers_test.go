// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package updates

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// script writes an executable shell script standing in for apt-get.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := collectortest.WriteExecutable(path, []byte("#!/bin/sh\n"+body)); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeAptGet answers like apt-get with a fixture, after checking that it
// was started with the simulation's arguments, in the C locale and with no
// more environment than that.
func fakeAptGet(t *testing.T, dir, fixture string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("testdata", "apt", fixture))
	if err != nil {
		t.Fatal(err)
	}
	return script(t, dir, "apt-get", fmt.Sprintf(`
[ "$*" = "-s -q -o Debug::NoLocking=1 -o APT::Get::Show-User-Simulation-Note=false dist-upgrade" ] || { echo "E: unexpected arguments: $*" >&2; exit 100; }
[ "$LC_ALL" = C ] || { echo "E: not in the C locale" >&2; exit 100; }
[ -z "$HOME" ] || { echo "E: inherited the environment" >&2; exit 100; }
cat %q
`, abs))
}

func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// host is a Debian host on disk for the golden tests.
func host(t *testing.T, fixture string, reboot bool) Host {
	t.Helper()
	dir := t.TempDir()
	lists := filepath.Join(dir, "lists")
	if err := os.Mkdir(lists, 0o755); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join(lists, "deb.debian.org_debian_dists_bookworm_InRelease")
	if err := os.WriteFile(rel, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	stamp := time.Unix(1795418758, 0)
	if err := os.Chtimes(rel, stamp, stamp); err != nil {
		t.Fatal(err)
	}
	h := Host{AptGet: fakeAptGet(t, dir, fixture), AptListsDir: lists, RebootRequiredFile: filepath.Join(dir, "reboot-required")}
	if reboot {
		if err := os.WriteFile(h.RebootRequiredFile, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// blockingSource ignores its context and hangs until release is closed.
type blockingSource struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSource) Pending(context.Context) (Pending, error) {
	b.entered <- struct{}{}
	<-b.release
	return Pending{}, nil
}

func (b *blockingSource) RebootRequired() (bool, error) { return false, nil }

func (b *blockingSource) ListsUpdated() (time.Time, error) { return time.Time{}, nil }

func (b *blockingSource) Unattended(context.Context) (Unattended, error) { return Unattended{}, nil }
