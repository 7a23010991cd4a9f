// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package filesystem

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

type prometheusMetric = prometheus.Metric

// metricString renders "name label=value ... value" for set comparisons.
func metricString(m prometheus.Metric) string {
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		return "error: " + err.Error()
	}
	desc := m.Desc().String()
	name := desc[strings.Index(desc, `fqName: "`)+len(`fqName: "`):]
	name = name[:strings.IndexByte(name, '"')]
	parts := []string{name}
	for _, l := range pb.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	parts = append(parts, strconv.FormatFloat(pb.GetGauge().GetValue(), 'g', -1, 64))
	return strings.Join(parts, " ")
}
