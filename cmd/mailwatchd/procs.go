// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import "runtime"

// serveProcs is how many Go processors (GOMAXPROCS) `mailwatchd serve` runs
// with unless the GOMAXPROCS environment variable says otherwise. The
// daemon's work is small and mostly waiting; with a second processor the
// Go scheduler wakes and parks threads for every scrape and every log
// write, which cost more CPU than it saved. Measured side by side
// (docs/performance.md, "Scrape on the final tree"): 0.31 against 0.38 ms
// of CPU per scrape at 200/s, 8.6 against 10.9 % of a core under 10 k log
// lines/s, for 1-2 ms more line-to-metric latency and the journal source's
// catch-up at 1.6 times journalctl's own time. The other commands (report,
// replay, check) keep the Go default.
const serveProcs = 1

// limitProcs applies serveProcs unless lookup finds GOMAXPROCS set, and
// returns the number of processors in effect.
func limitProcs(lookup func(string) (string, bool)) int {
	if _, set := lookup("GOMAXPROCS"); set {
		return runtime.GOMAXPROCS(0)
	}
	runtime.GOMAXPROCS(serveProcs)
	return serveProcs
}
