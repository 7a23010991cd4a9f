// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/check"
	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/logparse"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
)

// TestLogSASLChanges: a user is logged by name once when it goes above a
// threshold, not again while it stays there, and once when back below.
func TestLogSASLChanges(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	logger := zap.New(core)
	var th config.Thresholds
	th.ApplyDefaults()
	above := map[string]bool{}
	quiet := logparse.SASLSender{User: "bob@example.org", Messages: 3, ClientIPs: 1}
	loud := logparse.SASLSender{User: "alice@example.org", Messages: 4200, ClientIPs: 37}
	logSASLChanges([]logparse.SASLSender{quiet}, th, above, logger)
	logSASLChanges([]logparse.SASLSender{loud, quiet}, th, above, logger)
	logSASLChanges([]logparse.SASLSender{loud, quiet}, th, above, logger)
	logSASLChanges([]logparse.SASLSender{quiet}, th, above, logger)
	all := logs.AllUntimed()
	if len(all) != 2 {
		t.Fatalf("%d log entries, want 2: %v", len(all), all)
	}
	if e := all[0]; e.Level != zapcore.WarnLevel || e.ContextMap()["sasl_username"] != "alice@example.org" || e.ContextMap()["messages"] != int64(4200) {
		t.Errorf("first entry %v %v", e.Message, e.ContextMap())
	}
	if e := all[1]; e.Level != zapcore.InfoLevel || e.ContextMap()["sasl_username"] != "alice@example.org" {
		t.Errorf("second entry %v %v", e.Message, e.ContextMap())
	}
}

// TestVerdictNamesSASLSender: the status page's verdict has check's row
// naming a SASL user above the thresholds, among the worst first.
func TestVerdictNamesSASLSender(t *testing.T) {
	t.Parallel()
	var th config.Thresholds
	th.ApplyDefaults()
	senders := []check.SASLSender{{User: "bob@example.org", Messages: 4, ClientIPs: 1}, {User: "alice@example.org", Messages: 4200, ClientIPs: 37}}
	v := verdict(prometheus.NewRegistry(), func() []scheduler.Status { return nil }, func() config.Thresholds { return th },
		func() []check.SASLSender { return senders })()
	if len(v.Rows) != 1 || v.Rows[0].Item != "SASL sender alice@example.org" || v.Rows[0].Status != check.Warn.String() || v.Status != check.Warn.String() {
		t.Errorf("verdict %+v", v)
	}
}
