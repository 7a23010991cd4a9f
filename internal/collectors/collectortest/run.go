// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectortest

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// Run performs one Update with ctx and returns its samples as
// Sample renders them, with the run's error. The metrics are read while
// Update runs, so no number of them can block it.
func Run(ctx context.Context, c collectors.Collector) (map[string]float64, error) {
	ch := make(chan prometheus.Metric)
	out := map[string]float64{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range ch {
			k, v := Sample(m)
			out[k] = v
		}
	}()
	err := c.Update(ctx, ch)
	close(ch)
	<-done
	return out, err
}

// Sample renders a metric as `name{l1="v1",l2="v2"}` (labels sorted by
// name) and returns its value: a gauge's, a counter's or an untyped one's.
func Sample(m prometheus.Metric) (string, float64) {
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		return "error: " + err.Error(), 0
	}
	labels := make([]string, 0, len(pb.GetLabel()))
	for _, l := range pb.GetLabel() {
		labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
	}
	sort.Strings(labels)
	name := fqName(m.Desc()) + "{" + strings.Join(labels, ",") + "}"
	switch {
	case pb.Counter != nil:
		return name, pb.GetCounter().GetValue()
	case pb.Untyped != nil:
		return name, pb.GetUntyped().GetValue()
	}
	return name, pb.GetGauge().GetValue()
}

// fqName is the metric name of a descriptor, which client_golang only
// shows in its String.
func fqName(d *prometheus.Desc) string {
	s := d.String()
	const key = `fqName: "`
	i := strings.Index(s, key)
	if i < 0 {
		return s
	}
	s = s[i+len(key):]
	if j := strings.IndexByte(s, '"'); j >= 0 {
		s = s[:j]
	}
	return s
}

// New builds a collector with its package's constructor (newFn, such as
// mailbox.New) from cfg as given, with logger (zap.NewNop() when nil), and
// fails the test if the constructor refuses.
func New[C, T any](t testing.TB, newFn func(C, *zap.Logger) (T, error), cfg C, logger *zap.Logger) T {
	t.Helper()
	if logger == nil {
		logger = zap.NewNop()
	}
	c, err := newFn(cfg, logger)
	if err != nil {
		t.Fatalf("new collector: %v", err)
	}
	return c
}
