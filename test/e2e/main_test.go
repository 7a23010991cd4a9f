// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"flag"
	"os"
	"testing"
)

// TestMain removes what the tests left in the shared harness: the alert rules they loaded into
// its Prometheus.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	unloadAlertRules()
	os.Exit(code)
}
