// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/config"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mailwatchd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "mailwatchd")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "collectors:\n  filesystem:\n    intervall: 30s\n    interval: 10q\n    timeout: 1h\n")
	cmd := exec.Command(binary, "--config.check", "--config.file", bad)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("bad config: want exit 1, got %v\n%s", err, out)
	}
	for _, want := range []string{
		`line 3: collectors.filesystem.intervall: unknown key "intervall"`,
		`line 4: collectors.filesystem.interval: invalid duration "10q"`,
		`line 5: collectors.filesystem.timeout: 1h0m0s must be shorter than interval`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	good := filepath.Join(dir, "good.yaml")
	writeFile(t, good, "collectors:\n  filesystem:\n    paths: [/nonexistent/is/fine/at/check/time]\n")
	if out, err := exec.Command(binary, "--config.check", "--config.file", good).CombinedOutput(); err != nil {
		t.Errorf("good config: %v\n%s", err, out)
	}
	if out, err := exec.Command(binary, "--config.check", "--config.file", "../../config.example.yaml").CombinedOutput(); err != nil {
		t.Errorf("config.example.yaml: %v\n%s", err, out)
	}
	// A bad config refuses to start the daemon too, before listening.
	cmd = exec.Command(binary, "--config.file", bad, "--web.listen-address", "127.0.0.1:0")
	out, err = cmd.CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "intervall") {
		t.Errorf("serve with bad config: want exit 1 naming the key, got %v\n%s", err, out)
	}
	// An alias bomb is refused by check, serve and `check` alike, at once.
	bomb := filepath.Join(dir, "bomb.yaml")
	writeFile(t, bomb, aliasBomb)
	for _, args := range [][]string{
		{"--config.check", "--config.file", bomb},
		{"--config.file", bomb, "--web.listen-address", "127.0.0.1:0"},
		{"check", "--config.file", bomb},
	} {
		out, err := exec.Command(binary, args...).CombinedOutput()
		if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(string(out), "alias bomb") {
			t.Errorf("%v: want a non-zero exit naming the alias bomb, got %v\n%s", args, err, out)
		}
	}
}

// aliasBomb is YAML's "billion laughs" (internal/config tests it too): nine
// anchors, each a list naming the one before nine times, 9^9 nodes in a few
// hundred bytes.
var aliasBomb = func() string {
	nine := func(item string) string { return strings.TrimSuffix(strings.Repeat(item+",", 9), ",") }
	var b strings.Builder
	b.WriteString("a: &a [" + nine(`"lol"`) + "]\n")
	for c := 'b'; c <= 'i'; c++ {
		fmt.Fprintf(&b, "%c: &%c [%s]\n", c, c, nine("*"+string(c-1)))
	}
	return b.String()
}()

// rssKiB reads a process's resident set size from /proc.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func TestVersion(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "mailwatchd ") {
		t.Errorf("--version: %v %q", err, out)
	}
}

// notifySocket collects sd_notify datagrams the way systemd would.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			for _, l := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
				msgs <- l
			}
		}
	}()
	return path, msgs
}

func expectNotify(t *testing.T, msgs <-chan string, want string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case m := <-msgs:
			if m == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q from sd_notify", want)
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func scrape(addr string) (string, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// waitMetric scrapes until the exposition contains line (the daemon may
// still be starting) or 15 s pass.
func waitMetric(t *testing.T, addr, line string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := scrape(addr)
		if err == nil && strings.Contains(out, line) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %q (last error %v):\n%s", line, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeReloadAndTerm drives the real binary: READY over sd_notify, a
// refused reload keeps the old config serving, a good one applies, SIGTERM
// exits 0 after STOPPING.
func TestServeReloadAndTerm(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	keep := t.TempDir()
	writeFile(t, cfgPath, fmt.Sprintf("global:\n  state_dir: %s\ncollectors:\n  filesystem:\n    interval: 5s\n    timeout: 2s\n    paths: [%s]\n", dir, keep))
	sock, msgs := notifySocket(t)
	addr := freePort(t)
	var logs bytes.Buffer
	cmd := exec.Command(binary, "--config.file", cfgPath, "--web.listen-address", addr, "--log.format", "console")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})

	expectNotify(t, msgs, "READY=1")
	// A SIGHUP right after READY=1 (systemctl reload as soon as the unit is
	// up) reloads; it must not find SIGHUP's default action (exit) still in
	// place.
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	expectNotify(t, msgs, "RELOADING=1")
	out := waitMetric(t, addr, fmt.Sprintf(`mailwatch_filesystem_stat_success{path=%q} 1`, keep))
	if !strings.Contains(out, `mailwatch_host_info{role=""} 1`) { // no roles: one series, role empty (no label to Prometheus)
		t.Errorf("no role-less mailwatch_host_info:\n%s", out)
	}

	// A bad config: refused, the old collectors keep serving.
	writeFile(t, cfgPath, "collectors:\n  filesystem:\n    bogus: 1\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	out = waitMetric(t, addr, "mailwatch_config_last_reload_successful 0")
	if !strings.Contains(out, fmt.Sprintf(`mailwatch_filesystem_stat_success{path=%q} 1`, keep)) {
		t.Errorf("old config stopped serving after a refused reload:\n%s", out)
	}

	// A good, changed config: applied.
	other := t.TempDir()
	writeFile(t, cfgPath, fmt.Sprintf("global:\n  state_dir: %s\n  roles: [mx, imap]\ncollectors:\n  filesystem:\n    interval: 5s\n    timeout: 2s\n    paths: [%s]\n", dir, other))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	expectNotify(t, msgs, "RELOADING=1")
	out = waitMetric(t, addr, fmt.Sprintf(`mailwatch_filesystem_stat_success{path=%q} 1`, other))
	if !strings.Contains(out, "mailwatch_config_last_reload_successful 1") {
		t.Errorf("reload not reported as successful:\n%s", out)
	}
	// The roles follow the reload: one series each, the role-less one gone.
	for want, present := range map[string]bool{`mailwatch_host_info{role="mx"} 1`: true, `mailwatch_host_info{role="imap"} 1`: true, `mailwatch_host_info{role=""} 1`: false} {
		if strings.Contains(out, want) != present {
			t.Errorf("after reloading with roles [mx, imap], %q present = %v, want %v:\n%s", want, !present, present, out)
		}
	}
	waitMetric(t, addr, `mailwatch_collector_runs_total{collector="filesystem"} 2`) // counters kept across the reload

	// An alias bomb sent to the running daemon is refused without growing it.
	before := rssKiB(t, cmd.Process.Pid)
	writeFile(t, cfgPath, aliasBomb)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, addr, "mailwatch_config_last_reload_successful 0")
	if grew := rssKiB(t, cmd.Process.Pid) - before; grew > 8<<10 {
		t.Errorf("refusing an alias bomb on reload grew the daemon by %d KiB", grew)
	}
	// A FIFO in place of the file is refused at once, not waited on.
	if err := os.Remove(cfgPath); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(cfgPath, 0o600); err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Post("http://"+addr+"/-/reload", "", nil)
	if err != nil {
		t.Fatalf("reload with a FIFO as the config file: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "not a regular file") {
		t.Errorf("reload with a FIFO: %d %s", resp.StatusCode, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("SIGTERM: want exit 0, got %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15s of SIGTERM")
	}
	expectNotify(t, msgs, "STOPPING=1")
	sc := bufio.NewScanner(&logs)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "reload refused") && !strings.Contains(sc.Text(), "bogus") && !strings.Contains(sc.Text(), "alias bomb") && !strings.Contains(sc.Text(), "not a regular file (a FIFO)") {
			t.Errorf("refused reload log line does not name the bad key: %s", sc.Text())
		}
	}
}

// TestMetricsPassPromtool runs the daemon with config.example.yaml and
// checks the live /metrics with `promtool check metrics` (Debian package
// prometheus). It skips without promtool unless MAILWATCHD_REQUIRE_PROMTOOL
// is set, as CI does.
func TestMetricsPassPromtool(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("MAILWATCHD_REQUIRE_PROMTOOL") != "" {
			t.Fatal("promtool not found (apt-get install prometheus)")
		}
		t.Skip("promtool not found; apt-get install prometheus to run this test")
	}
	addr := freePort(t)
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The example as it is, but keeping its state out of /var/lib.
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, cfgPath, strings.Replace(string(example), "  state_dir: /var/lib/mailwatchd\n", "  state_dir: "+t.TempDir()+"\n", 1))
	cmd := exec.Command(binary, "--config.file", cfgPath, "--web.listen-address", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	out := waitMetric(t, addr, `mailwatch_collector_runs_total{collector="filesystem"} 1`)
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(out)
	res, err := check.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(res)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, res)
	}
}

// onlyFilesystem is a config that enables the filesystem collector on paths
// and disables every other collector, so a test does not depend on what
// this host runs.
func onlyFilesystem(paths ...string) string {
	var b strings.Builder
	b.WriteString("collectors:\n")
	for _, f := range (&config.Collectors{}).Sections() {
		if f.Name != "filesystem" {
			fmt.Fprintf(&b, "  %s:\n    enabled: false\n", f.Name)
		}
	}
	fmt.Fprintf(&b, "  filesystem:\n    paths: [%s]\n", strings.Join(paths, ", "))
	return b.String()
}

// checkWith runs `mailwatchd check --config.file cfgPath args...` and
// returns its combined output and exit status.
func checkWith(t *testing.T, cfgPath string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"check", "--config.file", cfgPath}, args...)...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestCheckCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(cfg string, args ...string) (string, int) {
		t.Helper()
		p := filepath.Join(t.TempDir(), "c.yaml")
		writeFile(t, p, cfg)
		return checkWith(t, p, args...)
	}
	noLogs := "logs:\n  sources: []\n"
	out, code := run(onlyFilesystem(dir) + noLogs)
	if code != 0 || !strings.Contains(out, "storage") || !strings.Contains(out, dir) || !strings.Contains(out, "OK: 0 critical") {
		t.Errorf("healthy path: exit %d\n%s", code, out)
	}
	out, code = run(onlyFilesystem(dir, "/nonexistent/mailwatchd")+noLogs, "--format", "summary")
	if code != 3 || !strings.HasPrefix(out, "UNKNOWN: 0 critical, 0 warning, 1 unknown, 1 ok - /nonexistent/mailwatchd") {
		t.Errorf("absent path: exit %d, want 3\n%s", code, out)
	}
	out, code = run("bogus: 1\n")
	if code != 3 || !strings.Contains(out, `unknown key "bogus"`) {
		t.Errorf("bad config: exit %d, want 3\n%s", code, out)
	}
	out, code = run("{}\n", "--format", "yaml")
	if code != 3 || !strings.Contains(out, "--format") {
		t.Errorf("bad format: exit %d, want 3\n%s", code, out)
	}
}

// TestCheckLogs: check shows each log source's last line age, from the
// file when the daemon saved nothing (WARN past log_silence_warning), and the
// error counters the daemon saved, never zeros it did not count.
func TestCheckLogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	logPath := filepath.Join(dir, "mail.log")
	old := time.Now().Add(-2 * time.Hour).UTC().Format("2006-01-02T15:04:05.000000-07:00")
	writeFile(t, logPath, old+" mx1 postfix/smtpd[1]: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: x\n")
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, onlyFilesystem(dir)+fmt.Sprintf("global:\n  state_dir: %s\nlogs:\n  start_at: beginning\n  sources:\n    - name: mail\n      paths: [%s]\n", state, logPath))
	check := func() (string, int) { t.Helper(); return checkWith(t, cfg, "--color", "never") }
	out, code := check()
	if code != 1 || !regexp.MustCompile(`(?m)^logs +mail +WARN +last line 2 h ago$`).MatchString(out) || strings.Contains(out, "errors seen") {
		t.Errorf("no saved state, last line 2 h old: exit %d, want 1, a WARN row and no error counts\n%s", code, out)
	}

	// The daemon reads the line and saves its state on the way out.
	addr := freePort(t)
	cmd := exec.Command(binary, "--config.file", cfg, "--web.listen-address", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	waitMetric(t, addr, `mailwatch_log_events_total{event="sasl_auth_failure"} 1`)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("daemon: %v", err)
	}
	out, _ = check()
	if !regexp.MustCompile(`(?m)^logs +errors seen +OK +1 auth failures, 0 TLS problems, 0 DKIM key errors$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^logs +mail +WARN +last line 2 h ago$`).MatchString(out) {
		t.Errorf("after the daemon saved its state:\n%s", out)
	}
}

// TestDoctorWithoutAdm runs doctor as a user outside group adm against a
// log file of group adm: it must say it cannot read the log and that group
// adm fixes it. Needs root (to switch user) and setpriv.
func TestDoctorWithoutAdm(t *testing.T) {
	t.Parallel()
	setpriv, err := exec.LookPath("setpriv")
	if os.Getuid() != 0 || err != nil {
		t.Skip("needs root and setpriv to run doctor as another user")
	}
	adm, err := user.LookupGroup("adm")
	if err != nil {
		t.Skip("no group adm")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // t.TempDir makes both 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "mail.log")
	writeFile(t, logPath, "Nov 23 08:00:00 host postfix/smtpd[1]: connect from x\n")
	gid, _ := strconv.Atoi(adm.Gid)
	if err := os.Chown(logPath, 0, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(logPath, 0o640); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	writeFile(t, cfgPath, onlyFilesystem(dir)+fmt.Sprintf("global:\n  state_dir: %s\nlogs:\n  sources:\n    - name: mail\n      paths: [%s]\n", dir, logPath))
	if err := os.Chmod(cfgPath, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "mailwatchd")
	// cp writes the copy, not this process: a child forked meanwhile by a parallel test could
	// hold our write descriptor and make the exec below fail with ETXTBSY.
	if out, err := exec.Command("cp", binary, bin).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", bin, "doctor", "--config.file", cfgPath).CombinedOutput()
	for _, want := range []string{
		"fail  logs          source mail: cannot read " + logPath + " (permission denied)",
		"fix: add nobody to group adm (usermod -aG adm nobody, or SupplementaryGroups=adm in the unit)",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
}
