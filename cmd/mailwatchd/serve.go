// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/exporter-toolkit/web"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"

	"github.com/mailwatchd/mailwatchd/internal/buildinfo"
	"github.com/mailwatchd/mailwatchd/internal/check"
	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/logparse"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
	mwweb "github.com/mailwatchd/mailwatchd/internal/web"
)

// daemon is the running service: config, scheduler, reload bookkeeping.
type daemon struct {
	opts   options
	logger *zap.Logger
	sched  *scheduler.Scheduler
	logs   *logparse.Pipeline

	mu       sync.Mutex // serialises reloads (SIGHUP and HTTP)
	checksum [32]byte
	// thresholds of the configuration in use, for the status page.
	thresholds atomic.Pointer[config.Thresholds]

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
	host       hostInfo
	reloads    atomic.Uint64 // moves at each change of the reload gauges (the scrape cache's key)
}

func validateWebConfig(path string) error {
	if path == "" {
		return nil
	}
	if err := web.Validate(path); err != nil {
		return fmt.Errorf("--web.config.file %s: %w", path, err)
	}
	return nil
}

// jobs builds every enabled collector from cfg. Nothing is started.
func jobs(cfg *config.Config, logger *zap.Logger) ([]scheduler.Job, error) {
	var out []scheduler.Job
	for _, s := range cfg.Collectors.Sections() {
		st := s.Common()
		if !st.IsEnabled() {
			continue
		}
		c, err := s.Build(logger.With(zap.String("collector", s.Name)))
		if err != nil {
			return nil, fmt.Errorf("collector %s: %w", s.Name, err)
		}
		out = append(out, scheduler.Job{
			Name: s.Name, Collector: c,
			Interval: st.Interval.D(), Timeout: st.Timeout.D(),
			StaleAfter: time.Duration(cfg.Global.StaleAfterIntervals) * st.Interval.D(),
		})
	}
	return out, nil
}

func serve(o options, logger *zap.Logger) int {
	procs := limitProcs(os.LookupEnv)
	if err := validateWebConfig(o.webConfig); err != nil {
		logger.Error("invalid web configuration", zap.Error(err))
		return 1
	}
	data, err := config.ReadFile(o.configFile)
	if err != nil {
		logger.Error("cannot read configuration", zap.String("file", o.configFile), zap.Error(err))
		return 1
	}
	cfg, err := config.Parse(o.configFile, data)
	if err != nil {
		logger.Error("invalid configuration", zap.String("file", o.configFile), zap.Error(err))
		return 1
	}
	js, err := jobs(cfg, logger)
	if err != nil {
		logger.Error("cannot build collectors", zap.Error(err))
		return 1
	}

	pipe, err := logparse.New(cfg.Logs, cfg.Global.StateDir, logger.With(zap.String("component", "logs")))
	if err != nil {
		logger.Error("cannot start the log pipeline", zap.Error(err))
		return 1
	}
	d := &daemon{opts: o, logger: logger, sched: scheduler.New(logger), logs: pipe, checksum: sha256.Sum256(data)}
	d.thresholds.Store(&cfg.Thresholds)
	gatherer := d.gatherer()

	listeners, err := mwweb.Listen(mwweb.ServerConfig{ListenAddresses: o.listen, SystemdSocket: o.systemdSocket, WebConfigFile: o.webConfig})
	if err != nil {
		logger.Error("cannot listen", zap.Error(err))
		return 1
	}
	d.sched.Apply(js)
	logCtx, stopLogs := context.WithCancel(context.Background())
	logsDone := make(chan struct{})
	go logSASLSenders(logCtx, pipe, func() config.Thresholds { return *d.thresholds.Load() }, logger.With(zap.String("component", "logs")))
	go func() {
		defer close(logsDone)
		if err := pipe.Run(logCtx); err != nil {
			logger.Error("log pipeline stopped", zap.Error(err))
		}
	}()
	d.host.set(cfg.Global.Roles)
	d.setReload(true)

	h := mwweb.NewHandler(mwweb.Options{
		Gatherer: gatherer, Statuses: d.sched.Statuses, Ready: d.sched.RanOnce, Reload: d.reload, Logger: logger,
		Verdict: verdict(gatherer, d.sched.Statuses, func() config.Thresholds { return *d.thresholds.Load() },
			func() []check.SASLSender { return saslSenders(pipe.SASLWindow()) }),
		Maintenance:    maintenanceSection(cfg.Global.StateDir),
		TopSASLSenders: topSASLSection(pipe),
	})
	srv := mwweb.Serve(listeners, h, o.webConfig, slog.New(zapslog.NewHandler(logger.Core())))
	for _, l := range listeners {
		logger.Info("listening", zap.String("address", l.Addr().String()))
	}
	logger.Info("mailwatchd started", zap.String("version", buildinfo.Version), zap.String("config", o.configFile), zap.Int("collectors", len(js)), zap.Int("go_processors", procs))
	// Signals are caught before READY=1: a SIGHUP sent as soon as systemd
	// (or a test) sees the daemon ready must reload it, not end it (SIGHUP's
	// default action).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	notify(logger, sd.SdNotifyReady)

	ctx, stopWatchdog := context.WithCancel(context.Background())
	go d.watchdog(ctx)
	code := d.waitForSignals(srv, sigs)
	stopWatchdog()

	notify(logger, sd.SdNotifyStopping)
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		logger.Warn("http shutdown", zap.Error(err))
	}
	d.sched.Stop()
	stopLogs() // saves the log positions
	select {
	case <-logsDone:
	case <-shutCtx.Done():
		logger.Warn("log pipeline did not stop in time; positions may be a few seconds old")
	}
	logger.Info("mailwatchd stopped")
	return code
}

// scrapeCacheMaxAge bounds how long the scheduler's gathered series are
// reused. Runs, reloads and stale windows invalidate them at once (see
// scheduler.Cache); this is only a backstop. Reuse matters only when
// scrapes come faster than that, and then it is most of a scrape's cost.
// The log counters' families (gathered again when the pipeline's
// ScrapeKey moves) and the reload gauges' have the same backstop.
const scrapeCacheMaxAge = time.Second

// runtimeMaxAge is how long a reading of the Go runtime and process
// collectors is reused. They change with every scrape (a scrape allocates),
// so no key can tell when to gather them again; read at most once a
// second, they cost one gathering per second instead of one per scrape,
// and no Prometheus scrape interval can tell the difference. The process
// collector alone reads five files under /proc/self per gathering.
const runtimeMaxAge = time.Second

// gatherer is what /metrics serves: four parts, each gathered again only
// when it can have changed, merged and numbered (scheduler.Merged), so that
// the handler encodes a response once per change (web/metrics.go):
//   - the Go runtime and process collectors, at most once per runtimeMaxAge;
//   - the build info and reload gauges, at each load or reload;
//   - the log counters, when the pipeline's ScrapeKey moves (each chunk of
//     lines counted, a rotation, a read error...);
//   - the scheduler's snapshots (scheduler.Cache).
func (d *daemon) gatherer() *scheduler.Merged {
	d.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "mailwatch", Subsystem: "config", Name: "last_reload_successful",
		Help: "1 if the last configuration load or reload succeeded, 0 if it was refused (the previous configuration stays in use).",
	})
	d.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "mailwatch", Subsystem: "config", Name: "last_reload_success_timestamp_seconds",
		Help: "Unix time of the last successful configuration load or reload.",
	})
	runtime := prometheus.NewRegistry()
	runtime.MustRegister(promcollectors.NewGoCollector(), promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{}))
	reloads := prometheus.NewRegistry()
	reloads.MustRegister(buildinfo.Collector(), d.reloadOK, d.reloadTime, &d.host)
	logs := prometheus.NewRegistry()
	logs.MustRegister(d.logs)
	return scheduler.MergeAll(
		scheduler.NewLiveCache(runtime, nil, runtimeMaxAge),
		scheduler.NewLiveCache(reloads, func(dst []uint64) []uint64 { return append(dst, d.reloads.Load()) }, scrapeCacheMaxAge),
		scheduler.NewLiveCache(logs, d.logs.ScrapeKey, scrapeCacheMaxAge),
		scheduler.NewCache(d.sched, scrapeCacheMaxAge),
	)
}

// setReload sets the reload gauges after a load or reload.
func (d *daemon) setReload(ok bool) {
	if ok {
		d.reloadOK.Set(1)
		d.reloadTime.SetToCurrentTime()
	} else {
		d.reloadOK.Set(0)
	}
	d.reloads.Add(1)
}

// waitForSignals blocks until SIGTERM/SIGINT (exit 0) or a fatal server
// error (exit 1); SIGHUP reloads.
func (d *daemon) waitForSignals(srv *mwweb.Server, sigs <-chan os.Signal) int {
	for {
		select {
		case err := <-srv.Err():
			d.logger.Error("http server failed", zap.Error(err))
			return 1
		case s := <-sigs:
			if s == syscall.SIGHUP {
				_ = d.reload() // logged and exported by reload
				continue
			}
			d.logger.Info("shutting down", zap.String("signal", s.String()))
			return 0
		}
	}
}

// reload builds the new collector set aside and swaps it in only if the
// whole config is valid; otherwise the running set is left untouched.
func (d *daemon) reload() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	notify(d.logger, sd.SdNotifyReloading)
	defer notify(d.logger, sd.SdNotifyReady)
	err := d.reloadLocked()
	if err != nil {
		d.setReload(false)
		d.logger.Error("reload refused; keeping the running configuration", zap.Error(err))
		return err
	}
	d.setReload(true)
	return nil
}

func (d *daemon) reloadLocked() error {
	data, err := config.ReadFile(d.opts.configFile)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	if bytes.Equal(sum[:], d.checksum[:]) {
		d.logger.Info("configuration unchanged; nothing to reload")
		return nil
	}
	cfg, err := config.Parse(d.opts.configFile, data)
	if err != nil {
		return err
	}
	if err := validateWebConfig(d.opts.webConfig); err != nil {
		return err
	}
	js, err := jobs(cfg, d.logger)
	if err != nil {
		return err
	}
	// The log pipeline keeps its counters and unchanged tailers; it is
	// applied first because it is the only step that can still refuse.
	if err := d.logs.Apply(cfg.Logs); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	d.sched.Apply(js)
	d.host.set(cfg.Global.Roles)
	d.thresholds.Store(&cfg.Thresholds)
	d.checksum = sum
	d.logger.Info("configuration reloaded", zap.Int("collectors", len(js)))
	return nil
}

// watchdog feeds systemd's watchdog while the scheduler's loop is alive, so
// a wedged daemon is restarted. A no-op when WatchdogSec is unset.
func (d *daemon) watchdog(ctx context.Context) {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	t := time.NewTicker(interval / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if d.sched.Alive(interval) {
				notify(d.logger, sd.SdNotifyWatchdog)
			} else {
				d.logger.Error("scheduler loop stalled; withholding the watchdog ping")
			}
		}
	}
}

func notify(logger *zap.Logger, state string) {
	if _, err := sd.SdNotify(false, state); err != nil && !errors.Is(err, os.ErrNotExist) {
		logger.Debug("sd_notify", zap.String("state", state), zap.Error(err))
	}
}
