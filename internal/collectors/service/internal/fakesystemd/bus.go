// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package fakesystemd

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// busConfig lets every local client talk to every other and own any name:
// the test's collector and fake systemd are both the test process (root or
// not), so systemd's real policy file is not what is under test here.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// Bus is a dbus-daemon started for one test, listening on a unix socket in
// the test's temporary directory.
type Bus struct {
	// Address is the D-Bus address clients dial.
	Address string

	t      testing.TB
	dir    string // holds bus.conf
	socket string
	cmd    *exec.Cmd
}

// StartBus starts a private dbus-daemon and stops it when the test ends. It
// skips the test when dbus-daemon is not installed.
func StartBus(t testing.TB) *Bus {
	t.Helper()
	needDaemon(t)
	dir := t.TempDir()
	socket := filepath.Join(dir, "bus")
	return startBus(t, dir, socket, fmt.Sprintf(busConfig, socket))
}

// SystemConf is Debian's configuration of the system bus, which includes
// systemd's policy for org.freedesktop.systemd1 from system.d.
const SystemConf = "/usr/share/dbus-1/system.conf"

// StartSystemBus starts a dbus-daemon with the system bus's own
// configuration and policies (SystemConf and the system.d files it
// includes), listening on a socket every user may reach. It must run as
// root, like the real system bus; it skips the test otherwise, or when the
// configuration is not installed.
func StartSystemBus(t testing.TB) *Bus {
	t.Helper()
	needDaemon(t)
	if os.Geteuid() != 0 {
		t.Skip("the system bus configuration needs root")
	}
	conf, err := os.ReadFile(SystemConf)
	if err != nil {
		t.Skipf("no system bus configuration: %v", err)
	}
	// Not t.TempDir: its parents are private to root, and other users must
	// reach the socket.
	dir, err := os.MkdirTemp("", "mwsysbus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "system_bus_socket")
	c := string(conf)
	c = regexp.MustCompile(`<listen>[^<]*</listen>`).ReplaceAllLiteralString(c, "<listen>unix:path="+socket+"</listen>")
	// Stay root (no <user>), write no pidfile, start no services, and read
	// the policies from their absolute place.
	c = regexp.MustCompile(`<user>[^<]*</user>|<pidfile>[^<]*</pidfile>|<standard_system_servicedirs/>`).ReplaceAllLiteralString(c, "")
	c = strings.ReplaceAll(c, "<includedir>system.d</includedir>", "<includedir>"+filepath.Join(filepath.Dir(SystemConf), "system.d")+"</includedir>")
	return startBus(t, dir, socket, c)
}

func needDaemon(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("dbus-daemon not found (Debian package dbus): the systemd backend is tested against a real bus")
	}
}

func startBus(t testing.TB, dir, socket, conf string) *Bus {
	t.Helper()
	b := &Bus{t: t, dir: dir, socket: socket, Address: "unix:path=" + socket}
	if err := os.WriteFile(filepath.Join(dir, "bus.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b.Start()
	t.Cleanup(b.Stop)
	return b
}

// Start starts the daemon (again, after Stop) on the same address, and
// returns once it listens.
func (b *Bus) Start() {
	b.t.Helper()
	if b.cmd != nil {
		b.t.Fatal("bus already running")
	}
	_ = os.Remove(b.socket) // a killed daemon leaves its socket behind
	cmd := exec.Command("dbus-daemon", "--config-file="+filepath.Join(b.dir, "bus.conf"), "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	// It complains on stderr that it may not raise its file limit; keep
	// that in the test log, not on the terminal.
	cmd.Stderr = logWriter{b.t}
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start dbus-daemon: %v", err)
	}
	b.cmd = cmd
	// The daemon prints its address once it listens.
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if !strings.HasPrefix(s, "unix:") {
			b.Stop()
			b.t.Fatalf("dbus-daemon printed %q, want its address", s)
		}
	case <-time.After(10 * time.Second):
		b.Stop()
		b.t.Fatal("dbus-daemon did not print its address within 10s")
	}
}

// Stop kills the daemon, which drops every connection to it.
func (b *Bus) Stop() {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
	b.cmd = nil
}

// logWriter sends what the daemon writes to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Logf("dbus-daemon: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
