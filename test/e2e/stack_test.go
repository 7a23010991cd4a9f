// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// filesystemRan waits for a first successful filesystem collector run.
func filesystemRan(mfs map[string]*dto.MetricFamily) error {
	v, err := SampleValue(mfs, "mailwatch_collector_success", map[string]string{"collector": "filesystem"})
	if err != nil {
		return err
	}
	if v != 1 {
		return fmt.Errorf("mailwatch_collector_success{collector=\"filesystem\"} = %g", v)
	}
	return nil
}

// The exposition of a daemon running against the real stack passes Prometheus's own linter.
func TestMetricsPassPromtool(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	d := StartDaemon(t, env, DaemonOptions{})
	d.WaitMetrics(t, 15*time.Second, filesystemRan)

	body := d.Scrape(t)
	out, err := Promtool(env.Promtool, body)
	if err != nil || out != "" {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	if !strings.Contains(string(body), "mailwatch_build_info{") {
		t.Errorf("mailwatch_build_info missing from /metrics")
	}
}

// The harness Prometheus discovers and scrapes mailwatchd, and sees its metrics.
func TestPrometheusScrapesMailwatchd(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	d := StartDaemon(t, env, DaemonOptions{})
	prom := env.Prometheus()
	prom.RegisterTarget(t, "mailwatchd", d.Addr, nil)

	up := fmt.Sprintf(`up{job="mailwatchd",instance=%q}`, d.Addr)
	prom.WaitQuery(t, up, 60*time.Second, func(res []Sample) error {
		if len(res) != 1 || res[0].Value != 1 {
			return fmt.Errorf("%s = %v, want one series with value 1", up, res)
		}
		return nil
	})
	info := fmt.Sprintf(`mailwatch_build_info{job="mailwatchd",instance=%q}`, d.Addr)
	prom.WaitQuery(t, info, 15*time.Second, func(res []Sample) error {
		if len(res) != 1 || res[0].Value != 1 || res[0].Labels["version"] == "" {
			return fmt.Errorf("%s = %v, want one series with a version label and value 1", info, res)
		}
		return nil
	})
}

// The filesystem collector reports the real Postfix spool.
func TestFilesystemCollectorReportsPostfixSpool(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	d := StartDaemon(t, env, DaemonOptions{})
	mfs := d.WaitMetrics(t, 15*time.Second, filesystemRan)

	s, ok := FindSample(mfs, "mailwatch_filesystem_avail_bytes", map[string]string{"path": env.PostfixSpool})
	if !ok {
		t.Fatalf("no mailwatch_filesystem_avail_bytes{path=%q}; have %v", env.PostfixSpool, Samples(mfs, "mailwatch_filesystem_avail_bytes"))
	}
	if s.Labels["mountpoint"] == "" {
		t.Errorf("%v: empty mountpoint label", s)
	}
	if !(s.Value > 0) {
		t.Errorf("%v: want available bytes > 0", s)
	}
	for _, name := range []string{"mailwatch_filesystem_size_bytes", "mailwatch_filesystem_files", "mailwatch_filesystem_files_free"} {
		v, err := SampleValue(mfs, name, map[string]string{"path": env.PostfixSpool, "mountpoint": s.Labels["mountpoint"]})
		if err != nil {
			t.Error(err)
		} else if !(v > 0) {
			t.Errorf("%s{path=%q} = %g, want > 0", name, env.PostfixSpool, v)
		}
	}
	size, _ := SampleValue(mfs, "mailwatch_filesystem_size_bytes", map[string]string{"path": env.PostfixSpool})
	if s.Value > size {
		t.Errorf("available bytes %g exceed the filesystem size %g", s.Value, size)
	}
}

// mailwatchd works as the unprivileged monitor account (groups adm, postdrop, systemd-journal),
// the way deploy/systemd runs it.
func TestRunsAsMonitorUser(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	d := StartDaemon(t, env, DaemonOptions{User: env.MonitorUser})

	u, err := user.Lookup(env.MonitorUser)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := ProcessCredentials(d.PID)
	if err != nil {
		t.Fatal(err)
	}
	if strconv.Itoa(cred.UID) != u.Uid || strconv.Itoa(cred.GID) != u.Gid {
		t.Fatalf("daemon pid %d runs as uid %d gid %d, want %s's %s/%s", d.PID, cred.UID, cred.GID, env.MonitorUser, u.Uid, u.Gid)
	}
	// The groups that grant read access to logs, the showq socket and the journal.
	for _, name := range strings.Split(env.Var("MWH_MONITOR_GROUPS"), ",") {
		if name == "" {
			continue
		}
		g, err := user.LookupGroup(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(cred.Groups, atoi(t, g.Gid)) {
			t.Errorf("daemon pid %d lacks supplementary group %s (%s): has %v", d.PID, name, g.Gid, cred.Groups)
		}
	}

	mfs := d.WaitMetrics(t, 15*time.Second, filesystemRan)
	if _, err := SampleValue(mfs, "mailwatch_filesystem_avail_bytes", map[string]string{"path": env.PostfixSpool}); err != nil {
		t.Error(err)
	}
	out, err := Promtool(env.Promtool, d.Scrape(t))
	if err != nil || out != "" {
		t.Errorf("promtool check metrics (as %s): %v\n%s", env.MonitorUser, err, out)
	}
}

// The harness's own alerting pipeline works, so alert tests can rely on it: its always-firing
// HarnessWatchdog rule reached the webhook receiver through Alertmanager.
func TestHarnessAlertsReachWebhook(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	err := Eventually(60*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ns, err := env.Notifications(ctx)
		if err != nil {
			return err
		}
		for _, n := range ns {
			for _, a := range n.Alerts {
				if a.Labels["alertname"] == "HarnessWatchdog" && a.Status == "firing" {
					return nil
				}
			}
		}
		return fmt.Errorf("no firing HarnessWatchdog among %d notifications", len(ns))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
