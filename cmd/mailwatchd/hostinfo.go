// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

var hostInfoDesc = prometheus.NewDesc("mailwatch_host_info",
	"1 for each role of this host in the fleet (global.roles); one series without a role when none is configured.",
	[]string{"role"}, nil)

// hostInfo exports mailwatch_host_info{role}. Its roles are set at start and
// by every accepted reload.
type hostInfo struct {
	mu    sync.Mutex
	roles []string
}

func (h *hostInfo) set(roles []string) {
	h.mu.Lock()
	h.roles = append([]string(nil), roles...)
	h.mu.Unlock()
}

func (h *hostInfo) Describe(ch chan<- *prometheus.Desc) { ch <- hostInfoDesc }

func (h *hostInfo) Collect(ch chan<- prometheus.Metric) {
	h.mu.Lock()
	roles := h.roles
	h.mu.Unlock()
	if len(roles) == 0 {
		roles = []string{""} // role="": to Prometheus, a series without the label
	}
	for _, r := range roles {
		ch <- prometheus.MustNewConstMetric(hostInfoDesc, prometheus.GaugeValue, 1, r)
	}
}
