// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package web

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/scheduler"
)

func get(t *testing.T, h http.Handler, method, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "mailwatch_test", Help: "Test."})
	reg.MustRegister(g)
	ready := false
	reloadErr := errors.New("line 3: bad key")
	reloads := 0
	h := NewHandler(Options{
		Gatherer: reg,
		Statuses: func() []scheduler.Status {
			return []scheduler.Status{{Name: "filesystem", Runs: 3, Success: true, LastRun: time.Now()}, {Name: "postfix_queue", Runs: 2, Failures: 2, LastError: "dial showq: <refused>"}}
		},
		Ready:  func() bool { return ready },
		Reload: func() error { reloads++; return reloadErr },
		Logger: zap.NewNop(),
	})

	if code, body := get(t, h, "GET", "/metrics"); code != 200 || !strings.Contains(body, "mailwatch_test 0") {
		t.Errorf("/metrics: %d %q", code, body)
	}
	if code, _ := get(t, h, "GET", "/-/healthy"); code != 200 {
		t.Errorf("/-/healthy: %d", code)
	}
	if code, _ := get(t, h, "GET", "/-/ready"); code != 503 {
		t.Errorf("/-/ready before first runs: %d, want 503", code)
	}
	ready = true
	if code, _ := get(t, h, "GET", "/-/ready"); code != 200 {
		t.Errorf("/-/ready: %d, want 200", code)
	}
	if code, _ := get(t, h, "GET", "/-/reload"); code != 405 || reloads != 0 {
		t.Errorf("GET /-/reload: %d (reloads %d), want 405 and no reload", code, reloads)
	}
	if code, body := get(t, h, "POST", "/-/reload"); code != 500 || !strings.Contains(body, "line 3: bad key") || reloads != 1 {
		t.Errorf("failed POST /-/reload: %d %q", code, body)
	}
	reloadErr = nil
	if code, _ := get(t, h, "POST", "/-/reload"); code != 200 || reloads != 2 {
		t.Errorf("POST /-/reload: %d", code)
	}
	code, body := get(t, h, "GET", "/")
	if code != 200 || !strings.Contains(body, `href="/metrics"`) || !strings.Contains(body, "postfix_queue") || !strings.Contains(body, "failing") ||
		!strings.Contains(body, "dial showq: &lt;refused&gt;") {
		t.Errorf("landing page: %d\n%s", code, body)
	}
	if code, _ := get(t, h, "GET", "/nope"); code != 404 {
		t.Errorf("/nope: %d", code)
	}
}
