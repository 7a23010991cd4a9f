// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package buildinfo carries the version stamped in by the Makefile
// (-ldflags -X) and exports it as mailwatch_build_info.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Set with -ldflags "-X github.com/mailwatchd/mailwatchd/internal/buildinfo.Version=...".
var (
	Version  = "dev"
	Revision = ""
)

func revision() string {
	if Revision != "" {
		return Revision
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// String is the --version text.
func String() string {
	return fmt.Sprintf("mailwatchd %s (revision %s, %s %s/%s)", Version, revision(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Collector returns the mailwatch_build_info gauge.
func Collector() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "mailwatch",
		Name:      "build_info",
		Help:      "Always 1; the labels tell which mailwatchd build is running.",
		ConstLabels: prometheus.Labels{
			"version":   Version,
			"revision":  revision(),
			"goversion": runtime.Version(),
		},
	})
	g.Set(1)
	return g
}
