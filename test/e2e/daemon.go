// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// DefaultConfig watches the mail paths of the harness with the filesystem collector, and runs
// no other collector (the others are on by default; updates alone costs seconds of CPU per
// daemon). Like every DaemonOptions.Config it is a text/template over ConfigData.
var DefaultConfig = OnlyConfig(map[string]string{"filesystem": filesystemSection})

// ConfigData is what a config template can refer to.
type ConfigData struct {
	StateDir string // a fresh directory, writable by the daemon's user
	Env      *Env
	Vars     map[string]string // test-specific values (DaemonOptions.Vars)
}

// renderConfig executes a config template; a key missing from Vars is an error.
func renderConfig(t testing.TB, tmpl string, data ConfigData) []byte {
	t.Helper()
	var cfg bytes.Buffer
	if err := template.Must(template.New("config").Option("missingkey=error").Parse(tmpl)).
		Execute(&cfg, data); err != nil {
		t.Fatalf("config template: %v", err)
	}
	return cfg.Bytes()
}

// DaemonOptions says how StartDaemon runs mailwatchd.
type DaemonOptions struct {
	// Config is the YAML configuration as a text/template over ConfigData; empty means
	// DefaultConfig.
	Config string
	// Vars are available to the template as .Vars.
	Vars map[string]string
	// User runs the daemon as this account through setpriv (with the account's supplementary
	// groups, as systemd's User= would); empty runs it as the test's own user.
	User string
	// Addr is the listen address; empty means a free port on 127.0.0.1.
	Addr string
	// Args are extra flags, after --config.file, --web.listen-address and the log flags.
	Args []string
	// ReadyTimeout bounds the wait for /-/ready to return 200 (default 20 s).
	ReadyTimeout time.Duration
}

// Daemon is one running mailwatchd process started by StartDaemon.
type Daemon struct {
	Addr string // host:port it listens on
	URL  string // http://Addr
	Dir  string // config.yaml, state/ and daemon.log
	PID  int

	argv         []string // the command line, for StartAgain
	readyTimeout time.Duration
	cmd          *exec.Cmd
	done         chan struct{} // closed once the process has exited
	waitErr      error         // valid after done is closed
	stopped      bool
}

// StartDaemon starts the mailwatchd binary and waits until /-/ready returns 200. The daemon is
// stopped (SIGTERM, by PID) when the test ends unless the test stopped it already; its log is
// printed if the test failed.
func StartDaemon(t testing.TB, env *Env, opts DaemonOptions) *Daemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "mailwatchd-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// MkdirTemp creates 0700; another user must be able to reach config, state and binary.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "state")
	if err := os.Mkdir(stateDir, 0o750); err != nil {
		t.Fatal(err)
	}

	binary := env.Binary
	var prefix []string
	if opts.User != "" {
		if os.Geteuid() != 0 {
			t.Skipf("running mailwatchd as %s needs root", opts.User)
		}
		u, err := user.Lookup(opts.User)
		if err != nil {
			t.Fatalf("account %s: %v (the harness creates it: test/harness/configure.sh)", opts.User, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(stateDir, uid, gid); err != nil {
			t.Fatal(err)
		}
		// A copy next to the config, so the account can execute it wherever the repo lives.
		binary = filepath.Join(dir, "mailwatchd")
		if err := copyFile(env.Binary, binary, 0o755); err != nil {
			t.Fatal(err)
		}
		// setpriv exec()s the daemon, so the PID we get is the daemon's own.
		prefix = []string{"setpriv", "--reuid=" + opts.User, "--regid=" + u.Gid, "--init-groups", "--"}
	}

	tmpl := opts.Config
	if tmpl == "" {
		tmpl = DefaultConfig
	}
	cfg := renderConfig(t, tmpl, ConfigData{StateDir: stateDir, Env: env, Vars: opts.Vars})
	configFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configFile, cfg, 0o644); err != nil {
		t.Fatal(err)
	}

	addr := opts.Addr
	if addr == "" {
		addr = FreeAddr(t)
	}
	args := append([]string{
		"--config.file=" + configFile,
		"--web.listen-address=" + addr,
		"--log.level=debug",
		"--log.format=console",
	}, opts.Args...)
	argv := append(append(prefix, binary), args...)

	d := &Daemon{Addr: addr, URL: "http://" + addr, Dir: dir, argv: argv, readyTimeout: opts.ReadyTimeout}
	if d.readyTimeout == 0 {
		d.readyTimeout = 20 * time.Second
	}
	d.launch(t)
	t.Cleanup(func() {
		if !d.stopped {
			d.Stop(t)
		}
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "daemon.log"))
			t.Logf("mailwatchd (last pid %d) log:\n%s", d.PID, out)
		}
	})
	d.waitReady(t, d.readyTimeout)
	return d
}

// launch starts the daemon's process, its output appended to daemon.log.
func (d *Daemon) launch(t testing.TB) {
	t.Helper()
	logFile, err := os.OpenFile(filepath.Join(d.Dir, "daemon.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(d.argv[0], d.argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = d.Dir
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", strings.Join(d.argv, " "), err)
	}
	done := make(chan struct{})
	d.PID, d.cmd, d.done, d.stopped = cmd.Process.Pid, cmd, done, false
	go func() {
		d.waitErr = cmd.Wait()
		logFile.Close()
		close(done)
	}()
}

// StartAgain starts a daemon that Stop ended once more, with the same configuration, state
// directory and listen address (a restart, as systemd would do it), and waits until it is ready.
func (d *Daemon) StartAgain(t testing.TB) {
	t.Helper()
	if !d.stopped {
		t.Fatalf("mailwatchd (pid %d) is still running: Stop it first", d.PID)
	}
	d.launch(t)
	d.waitReady(t, d.readyTimeout)
}

// waitReady polls /-/ready until it returns 200, failing early if the process exits.
func (d *Daemon) waitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		select {
		case <-d.done:
			t.Fatalf("mailwatchd exited before it was ready: %v", d.waitErr)
		default:
		}
		resp, err := client.Get(d.URL + "/-/ready")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailwatchd not ready at %s/-/ready after %v: %s", d.URL, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop sends SIGTERM to the daemon's PID and waits for it to exit; the contract is a clean exit
// with status 0 within 10 s. It is called automatically at the end of the test.
func (d *Daemon) Stop(t testing.TB) {
	t.Helper()
	if d.stopped {
		return
	}
	d.stopped = true
	select {
	case <-d.done:
		t.Errorf("mailwatchd (pid %d) had already exited: %v", d.PID, d.waitErr)
		return
	default:
	}
	if err := syscall.Kill(d.PID, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM to mailwatchd pid %d: %v", d.PID, err)
	}
	select {
	case <-d.done:
		if d.waitErr != nil {
			t.Errorf("mailwatchd (pid %d) did not exit cleanly on SIGTERM: %v", d.PID, d.waitErr)
		}
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(d.PID, syscall.SIGKILL)
		<-d.done
		t.Errorf("mailwatchd (pid %d) ignored SIGTERM for 10 s; killed", d.PID)
	}
}

// Scrape fetches /metrics once and returns the body (text exposition format).
func (d *Daemon) Scrape(t testing.TB) []byte {
	t.Helper()
	body, err := d.scrape()
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func (d *Daemon) scrape() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := send(ctx, http.MethodGet, d.URL+"/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s: %s", d.URL, resp.Status, body)
	}
	return body, nil
}

// Metrics scrapes /metrics and parses it.
func (d *Daemon) Metrics(t testing.TB) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := ParseMetrics(d.Scrape(t))
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// WaitMetrics scrapes until cond accepts the metrics (returns nil) or timeout passes, and
// returns the accepted metrics. Collectors run on their own clocks, so a value a test expects
// appears within an interval or two, not at a fixed time.
func (d *Daemon) WaitMetrics(t testing.TB, timeout time.Duration, cond func(map[string]*dto.MetricFamily) error) map[string]*dto.MetricFamily {
	t.Helper()
	var mfs map[string]*dto.MetricFamily
	err := Eventually(timeout, func() error {
		body, err := d.scrape()
		if err != nil {
			return err
		}
		if mfs, err = ParseMetrics(body); err != nil {
			return err
		}
		return cond(mfs)
	})
	if err != nil {
		t.Fatalf("metrics of %s never satisfied the condition within %v: %v", d.URL, timeout, err)
	}
	return mfs
}

// Eventually calls f every 200 ms until it returns nil or timeout passes; it returns f's last
// error in that case.
func Eventually(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// FreeAddr returns 127.0.0.1:PORT with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Credentials are the real user, group and supplementary group IDs of a process.
type Credentials struct {
	UID, GID int
	Groups   []int
}

// ProcessCredentials reads a running process's credentials from /proc.
func ProcessCredentials(pid int) (Credentials, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Credentials{}, err
	}
	c := Credentials{UID: -1, GID: -1}
	for _, line := range strings.Split(string(status), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		switch name {
		case "Uid":
			if len(f) > 0 {
				c.UID, _ = strconv.Atoi(f[0])
			}
		case "Gid":
			if len(f) > 0 {
				c.GID, _ = strconv.Atoi(f[0])
			}
		case "Groups":
			for _, g := range f {
				n, err := strconv.Atoi(g)
				if err != nil {
					return Credentials{}, fmt.Errorf("/proc/%d/status: Groups: %w", pid, err)
				}
				c.Groups = append(c.Groups, n)
			}
		}
	}
	if c.UID < 0 || c.GID < 0 {
		return Credentials{}, errors.New("no Uid/Gid in /proc status")
	}
	return c, nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
