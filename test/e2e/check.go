// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// CheckRow is one line of `mailwatchd check --format json`.
type CheckRow struct {
	Area   string `json:"area"`
	Item   string `json:"item"`
	Value  string `json:"value"`
	Status string `json:"status"`
}

func (r CheckRow) String() string {
	return fmt.Sprintf("%s %s: %s (%s)", r.Area, r.Item, r.Status, r.Value)
}

// CheckResult is a `mailwatchd check` run: exit status, the JSON document and stderr.
type CheckResult struct {
	Exit    int
	Status  string     `json:"status"`
	Summary string     `json:"summary"`
	Rows    []CheckRow `json:"rows"`
	Stderr  string
}

// Row returns the row of area and item.
func (c *CheckResult) Row(area, item string) (CheckRow, bool) {
	for _, r := range c.Rows {
		if r.Area == area && r.Item == item {
			return r, true
		}
	}
	return CheckRow{}, false
}

// Table is the result as text for failure messages.
func (c *CheckResult) Table() string {
	var b strings.Builder
	for _, r := range c.Rows {
		fmt.Fprintf(&b, "  %-13s %-40s %-7s %s\n", r.Area, r.Item, r.Status, r.Value)
	}
	fmt.Fprintf(&b, "  exit %d: %s\n", c.Exit, c.Summary)
	return b.String()
}

// WriteConfig renders a config template into a fresh directory and returns the file's path.
func WriteConfig(t testing.TB, env *Env, tmpl string, vars map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o750); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, renderConfig(t, tmpl, ConfigData{StateDir: state, Env: env, Vars: vars}), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// RunCheck runs `mailwatchd check` with the configuration file and extra flags and returns
// its exit status and output. The exit status is the result, never a test failure by itself.
func RunCheck(t testing.TB, env *Env, configFile string, flags ...string) (exit int, stdout, stderr string) {
	t.Helper()
	args := append([]string{"check", "--config.file=" + configFile, "--color=never"}, flags...)
	cmd := exec.Command(env.Binary, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		exit = ee.ExitCode()
	default:
		t.Fatalf("mailwatchd check: %v", err)
	}
	return exit, out.String(), errOut.String()
}

// Check runs `mailwatchd check --format json` and parses its result.
func Check(t testing.TB, env *Env, configFile string) *CheckResult {
	t.Helper()
	exit, out, errOut := RunCheck(t, env, configFile, "--format=json")
	res := &CheckResult{Exit: exit, Stderr: errOut}
	if err := json.Unmarshal([]byte(out), res); err != nil {
		t.Fatalf("mailwatchd check --format json (exit %d): %v\nstdout:\n%s\nstderr:\n%s", exit, err, out, errOut)
	}
	return res
}
