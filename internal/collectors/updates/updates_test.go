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
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestParseSimulation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		want    Pending
		wantErr error
	}{
		// Captured on a Debian 12 host with an old image and current lists.
		{"debian12-dist-upgrade.txt", Pending{All: 136, Security: 81}, nil},
		{"ubuntu-jammy-dist-upgrade.txt", Pending{All: 7, Security: 5}, nil},
		{"held-and-removal.txt", Pending{All: 1, Security: 1}, nil},
		{"up-to-date.txt", Pending{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(filepath.Join("testdata", "apt", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := ParseSimulation(f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"", "E: Could not open lock file\n", "Inst foo (1.0 Debian:12/stable [all])\n"} {
		if _, err := ParseSimulation(strings.NewReader(bad)); !errors.Is(err, ErrNoSummary) {
			t.Errorf("%q: got %v, want ErrNoSummary", bad, err)
		}
	}
}

func TestIsSecurityInst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rest string
		want bool
	}{
		{"libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])", true},
		{"libgcrypt20 [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64]) []", true},
		{"libc6 [2.35-0ubuntu3.1] (2.35-0ubuntu3.8 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security [amd64])", true},
		{"vim [2:8.2] (2:8.3 UbuntuESMApps:22.04/jammy-apps-security [all])", true},
		{"foo (1.0 Debian-Security:10/buster [all])", true}, // label says so
		{"base-files [12.4+deb12u11] (12.4+deb12u15 Debian:12.15/oldstable [amd64])", false},
		{"tzdata [2024a] (2025b Debian:12.11/stable, Debian:12-updates/stable-updates [all])", false},
		{"security-tool [1] (2 Debian:12/stable [all])", false}, // the package's name is not the archive
		{"local [1] (2 localhost [all])", false},
		{"broken (", false},
		{"no-parens", false},
		{"x (1.0)", false},
	}
	for _, tc := range tests {
		if got := isSecurityInst(tc.rest); got != tc.want {
			t.Errorf("isSecurityInst(%q) = %v, want %v", tc.rest, got, tc.want)
		}
	}
}

func FuzzParseSimulation(f *testing.F) {
	for _, name := range []string{"ubuntu-jammy-dist-upgrade.txt", "held-and-removal.txt", "up-to-date.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", "apt", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("Inst a (\nInst b ( )\nInst c (1 :/-security, [)\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseSimulation(bytes.NewReader(data))
		if err != nil {
			return
		}
		if p.Security > p.All || p.All < 0 {
			t.Errorf("impossible counts %+v", p)
		}
		if p.All > bytes.Count(data, []byte("Inst ")) {
			t.Errorf("more packages (%d) than Inst lines", p.All)
		}
	})
}

func TestHostPending(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := Host{AptGet: fakeAptGet(t, dir, "ubuntu-jammy-dist-upgrade.txt")}
	got, err := h.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Pending{All: 7, Security: 5}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}

	failing := script(t, dir, "apt-get-broken", "echo 'Reading package lists...'\necho 'E: The package lists or status file could not be parsed or opened.' >&2\nexit 100\n")
	_, err = Host{AptGet: failing}.Pending(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exit status 100: E: The package lists or status file could not be parsed") {
		t.Errorf("failing apt-get: got %v", err)
	}
	chatty := script(t, dir, "apt-get-chatty", "echo 'not apt'\n")
	if _, err := (Host{AptGet: chatty}).Pending(context.Background()); !errors.Is(err, ErrNoSummary) {
		t.Errorf("output without summary: got %v, want ErrNoSummary", err)
	}
	_, err = Host{AptGet: filepath.Join(dir, "nope")}.Pending(context.Background())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing apt-get: got %v, want ErrNotExist", err)
	}
}

// TestAptGetFromPath: a bare name is looked up in the daemon's PATH. Not
// parallel: it sets PATH.
func TestAptGetFromPath(t *testing.T) {
	dir := t.TempDir()
	fakeAptGet(t, dir, "held-and-removal.txt")
	t.Setenv("PATH", dir)
	got, err := Host{AptGet: "apt-get"}.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Pending{All: 1, Security: 1}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := (Host{AptGet: "apt-get-missing"}).Pending(context.Background()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("name not on PATH: got %v, want ErrNotExist", err)
	}
}

// TestHungAptGetIsKilled: an apt-get that never finishes (waiting on a
// lock, a hung NFS /var) is killed at the deadline with every process it
// started, and the run returns.
func TestHungAptGetIsKilled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	hung := script(t, dir, "apt-get", fmt.Sprintf("sleep 300 &\necho $! > %q\nwait\n", pidFile))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := Host{AptGet: hung}.Pending(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	// The grandchild was killed with its group: gone, or a zombie waiting
	// for init to reap it.
	collectortest.Eventually(t, fmt.Sprintf("apt-get's child %d is gone", pid), func() bool { return !alive(pid) })
}

func TestHostFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lists := filepath.Join(dir, "lists")
	if err := os.Mkdir(lists, 0o755); err != nil {
		t.Fatal(err)
	}
	stamp := time.Date(2026, 11, 23, 7, 25, 58, 0, time.UTC)
	for name, at := range map[string]time.Time{
		"deb.debian.org_debian_dists_bookworm_InRelease":                      stamp.Add(-time.Hour),
		"deb.debian.org_debian-security_dists_bookworm-security_InRelease":    stamp,
		"deb.debian.org_debian-security_dists_bookworm-security_Release.gpg":  stamp.Add(time.Hour), // not a Release
		"deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4": stamp.Add(2 * time.Hour),
		"ppa.launchpadcontent.net_x_ubuntu_dists_jammy_Release":               stamp.Add(-2 * time.Hour),
	} {
		p := filepath.Join(lists, name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	h := Host{AptListsDir: lists, RebootRequiredFile: filepath.Join(dir, "reboot-required")}
	got, err := h.ListsUpdated()
	if err != nil || !got.Equal(stamp) {
		t.Errorf("ListsUpdated = %v, %v; want %v", got, err, stamp)
	}
	if got, err := (Host{AptListsDir: filepath.Join(dir, "none")}).ListsUpdated(); err != nil || !got.IsZero() {
		t.Errorf("no lists: got %v, %v; want zero", got, err)
	}
	if r, err := h.RebootRequired(); r || err != nil {
		t.Errorf("no flag: got %v, %v", r, err)
	}
	if err := os.WriteFile(h.RebootRequiredFile, []byte("*** System restart required ***\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err := h.RebootRequired(); !r || err != nil {
		t.Errorf("flag: got %v, %v", r, err)
	}
	if _, err := (Host{RebootRequiredFile: filepath.Join(h.RebootRequiredFile, "x")}).RebootRequired(); err == nil {
		t.Error("unreadable flag path: want an error")
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	success := host(t, "debian12-dist-upgrade.txt", true)
	partial := host(t, "up-to-date.txt", false)
	partial.AptGet = script(t, t.TempDir(), "apt-get", "echo 'E: dpkg was interrupted' >&2\nexit 100\n")
	total := partial
	total.RebootRequiredFile = filepath.Join(partial.AptGet, "reboot-required") // ENOTDIR
	tests := []struct {
		name    string
		src     Host
		wantErr bool
	}{
		{"success", success, false},
		{"partial", partial, false},
		{"total_failure", total, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := NewWithSource(tc.src, zap.NewNop())
			collectortest.CheckGolden(t, c, tc.name, tc.wantErr)
		})
	}
}

func TestNoAptGetIsNotApplicable(t *testing.T) {
	t.Parallel()
	cfg := Config{AptGet: filepath.Join(t.TempDir(), "apt-get")}
	cfg.ApplyDefaults()
	c := collectortest.New(t, New, cfg, nil)
	ch := make(chan prometheus.Metric, 16)
	if err := c.Update(context.Background(), ch); !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("got %v, want ErrNotApplicable", err)
	}
}

func TestContextEndsHungSource(t *testing.T) {
	t.Parallel()
	src := &blockingSource{entered: make(chan struct{}, 2), release: make(chan struct{})}
	c := NewWithSource(src, zap.NewNop())
	collectortest.HungRun(t, c, src.entered)
	close(src.release)
}
