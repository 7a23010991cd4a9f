// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package maintenance exports the host's maintenance window, which
// `mailwatchd maintenance start|stop` writes to a file in the state
// directory (no daemon restart, no reload): mailwatch_maintenance_active
// and the window's end. An Alertmanager inhibit rule on the alert
// MailMaintenance silences the host's other alerts while it is set
// (deploy/alertmanager/inhibit.example.yml).
package maintenance

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

var (
	activeDesc = collectors.NewDesc(Name, "maintenance", "active",
		"1 while a maintenance window set with `mailwatchd maintenance start` covers now, 0 otherwise.")
	endDesc = collectors.NewDesc(Name, "maintenance", "end_timestamp_seconds",
		"Unix time the maintenance window ends (or ended, until `mailwatchd maintenance stop` removes it); absent without one.")
	startDesc = collectors.NewDesc(Name, "maintenance", "start_timestamp_seconds",
		"Unix time the maintenance window started; absent without one.")
)

// Collector is the maintenance collector.
type Collector struct {
	dir    string
	now    func() time.Time
	logger *zap.Logger
}

// New builds the collector on cfg.StateDir.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	return &Collector{dir: cfg.StateDir, now: time.Now, logger: logger}, nil
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, activeDesc, endDesc, startDesc)
}

// Update implements collectors.Collector. A file that cannot be read is a
// failed run (its error names the file): neither "in maintenance" nor
// "not" can be trusted then.
func (c *Collector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	st, err := Current(c.dir, c.now())
	if err != nil {
		return err
	}
	ch <- collectors.Gauge(activeDesc, collectors.B2F(st.Active))
	if st.Set {
		ch <- collectors.Gauge(endDesc, float64(st.End.UnixMilli())/1e3)
		ch <- collectors.Gauge(startDesc, float64(st.Start.UnixMilli())/1e3)
	}
	return nil
}

var _ collectors.Collector = (*Collector)(nil)
