// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sample is one series of a metric: its labels and value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

func (s Sample) String() string {
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, s.Labels[k])
	}
	return fmt.Sprintf("{%s} %g", strings.Join(parts, ","), s.Value)
}

// ParseMetrics parses the Prometheus text exposition format.
func ParseMetrics(body []byte) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}
	return mfs, nil
}

// Samples returns every series of the named gauge, counter or untyped metric.
func Samples(mfs map[string]*dto.MetricFamily, name string) []Sample {
	mf, ok := mfs[name]
	if !ok {
		return nil
	}
	out := make([]Sample, 0, len(mf.GetMetric()))
	for _, m := range mf.GetMetric() {
		s := Sample{Labels: map[string]string{}}
		for _, lp := range m.GetLabel() {
			s.Labels[lp.GetName()] = lp.GetValue()
		}
		switch {
		case m.Gauge != nil:
			s.Value = m.GetGauge().GetValue()
		case m.Counter != nil:
			s.Value = m.GetCounter().GetValue()
		case m.Untyped != nil:
			s.Value = m.GetUntyped().GetValue()
		default:
			continue // summaries and histograms have no single value
		}
		out = append(out, s)
	}
	return out
}

// FindSample returns the first series of name whose labels include every pair of match.
func FindSample(mfs map[string]*dto.MetricFamily, name string, match map[string]string) (Sample, bool) {
	for _, s := range Samples(mfs, name) {
		if hasLabels(s.Labels, match) {
			return s, true
		}
	}
	return Sample{}, false
}

// SampleValue is FindSample as an error for polling: the value, or why there is none.
func SampleValue(mfs map[string]*dto.MetricFamily, name string, match map[string]string) (float64, error) {
	s, ok := FindSample(mfs, name, match)
	if !ok {
		return 0, fmt.Errorf("no series %s%v among %v", name, match, Samples(mfs, name))
	}
	return s.Value, nil
}

func hasLabels(labels, match map[string]string) bool {
	for k, v := range match {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Promtool runs `promtool check metrics` over body and returns its combined output and error.
// promtool exits non-zero and prints one line per problem when the exposition breaks a rule.
func Promtool(promtool string, body []byte) (string, error) {
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
