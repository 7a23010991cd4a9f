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
	"gopkg.in/yaml.v3"

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
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("apt-get's child %d still runs after the deadline", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
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
			err := golden(t, c, tc.name)
			if (err != nil) != tc.wantErr {
				t.Errorf("run error %v, want error: %v", err, tc.wantErr)
			}
			if !tc.wantErr {
				collectortest.Lint(t, c)
			}
		})
	}
}

func TestNoAptGetIsNotApplicable(t *testing.T) {
	t.Parallel()
	cfg := Config{AptGet: filepath.Join(t.TempDir(), "apt-get")}
	cfg.ApplyDefaults()
	c, err := New(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan prometheus.Metric, 16)
	if err := c.Update(context.Background(), ch); !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("got %v, want ErrNotApplicable", err)
	}
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
func (b *blockingSource) RebootRequired() (bool, error)    { return false, nil }
func (b *blockingSource) ListsUpdated() (time.Time, error) { return time.Time{}, nil }

func TestContextEndsHungSource(t *testing.T) {
	t.Parallel()
	src := &blockingSource{entered: make(chan struct{}, 2), release: make(chan struct{})}
	c := NewWithSource(src, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Update(ctx, make(chan prometheus.Metric, 16)) }()
	<-src.entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if err := c.Update(context.Background(), make(chan prometheus.Metric, 16)); !errors.Is(err, errBusy) {
		t.Fatalf("second run while the first hangs: got %v, want errBusy", err)
	}
	close(src.release)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"defaults", Config{}, nil},
		{"bare name", Config{AptGet: "apt-get"}, nil},
		{"with arguments", Config{AptGet: "apt-get -s"}, []string{`apt_get: "apt-get -s" is neither an absolute path nor a command name`}},
		{"relative", Config{AptGet: "bin/apt-get", AptListsDir: "/var/lib/apt/lists/", RebootRequiredFile: "reboot-required"}, []string{
			`apt_get: must be an absolute path, got "bin/apt-get"`,
			`apt_lists_dir: "/var/lib/apt/lists/" is not clean`,
			`reboot_required_file: must be an absolute path`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.ApplyDefaults()
			var got []string
			for _, e := range tc.cfg.Validate() {
				got = append(got, e.Error())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("error %d: got %q, want prefix %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestExampleIsTheDefaults: the block for config.example.yaml decodes
// strictly and says exactly what the defaults are.
func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	data, err := collectortest.ExampleSection("updates")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Updates Config `yaml:"updates"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	got := f.Updates
	var want Config
	want.ApplyDefaults()
	d := want.Defaults()
	if got.IsEnabled() != d.Enabled || got.Interval.D() != d.Interval || got.Timeout.D() != d.Timeout {
		t.Errorf("example schedule %v/%s/%s, defaults %v/%s/%s", got.IsEnabled(), got.Interval, got.Timeout, d.Enabled, d.Interval, d.Timeout)
	}
	got.Settings = want.Settings
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("example differs from the defaults (-defaults +example):\n%s", diff)
	}
}
