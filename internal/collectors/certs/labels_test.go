// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// gatherAll runs one Update through a pedantic registry, which rejects
// invalid and duplicate series, and returns the samples and the run's error.
func gatherAll(t *testing.T, c *Collector) (map[string]float64, error) {
	t.Helper()
	a := &collectortest.Adapter{C: c}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(a)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out, a.Err
}

// TestInvalidUTF8Path: a certificate file whose name is not valid UTF-8
// is exported under its escaped name, next to the other files; a file
// whose name is that escaped spelling gets a series of its own.
func TestInvalidUTF8Path(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := t.TempDir()
	writeFile(t, dir+"/good.pem", p.long.fullchain())
	if err := os.WriteFile(dir+"/bad\xff.pem", p.short.fullchain(), 0o600); err != nil {
		t.Skipf("the file system refuses a name that is not UTF-8: %v", err)
	}
	writeFile(t, dir+`/bad\xff.pem`, p.long.fullchain()) // the four characters \xff
	writeFile(t, dir+"/ca.pem", p.root.pem)
	c := newTestCollector(t, Config{Files: []string{dir + "/*.pem"}, CAFile: dir + "/ca.pem"}, nil)
	got, err := gatherAll(t, c)
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	for _, tc := range []struct {
		label string
		want  leaf
	}{
		{dir + "/good.pem", p.long},
		{dir + `/bad\xff.pem`, p.short}, // the byte 0xff, escaped
		{dir + `/bad\\xff.pem`, p.long}, // the backslash, escaped
	} {
		target := `{target="` + tc.label + `"}`
		if v := got["mailwatch_cert_check_success"+target]; v != 1 {
			t.Errorf("check_success%s = %v, want 1", target, v)
		}
		if v := got["mailwatch_cert_verify_success"+target]; v != 1 {
			t.Errorf("verify_success%s = %v, want 1", target, v)
		}
		if v, want := got["mailwatch_cert_not_after_timestamp_seconds"+target], float64(tc.want.cert.NotAfter.Unix()); v != want {
			t.Errorf("not_after%s = %v, want %v", target, v, want)
		}
	}
	if t.Failed() {
		t.Logf("all series: %v", got)
	}
}

// TestPanicInProbe: a panic while checking one endpoint (in its own
// goroutine, where it would end the process) fails that endpoint only.
func TestPanicInProbe(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	s := startServer(t, "smtp", modeOK, p.long)
	core, logs := observer.New(zap.DebugLevel)
	dial := mapDial(map[string]string{"mail.test:25": s.addr()})
	c := newTestCollector(t, Config{Endpoints: []Endpoint{{Target: "smtp://boom.test:25"}, {Target: "smtp://mail.test:25"}}},
		func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == "boom.test:25" {
				panic("boom")
			}
			return dial(ctx, network, addr)
		})
	c.logger = zap.New(core)
	got, err := gatherAll(t, c)
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	if v, ok := got[`mailwatch_cert_check_success{target="smtp://boom.test:25"}`]; !ok || v != 0 {
		t.Errorf("check_success of the panicking endpoint = %v (present %v), want 0", v, ok)
	}
	if v := got[`mailwatch_cert_check_success{target="smtp://mail.test:25"}`]; v != 1 {
		t.Errorf("check_success of the other endpoint = %v, want 1; all: %v", v, got)
	}
	if _, err := gatherAll(t, c); err != nil { // the same panic again: not logged again
		t.Fatalf("second run failed: %v", err)
	}
	e := logs.FilterMessage("certificate endpoint check failed").All()
	if len(e) != 1 || !strings.Contains(e[0].ContextMap()["error"].(string), "panic: boom") {
		t.Errorf("logged %v, want the panic as the endpoint's error, once", logs.All())
	}
	st := logs.FilterMessage("stack of the panic").All()
	if len(st) != 1 || !strings.Contains(st[0].ContextMap()["stack"].(string), "TestPanicInProbe") {
		t.Errorf("logged %v, want the stack at debug level, once", logs.All())
	}
}

// TestPanicInDiscovery: a panic in a discovery source fails that source.
func TestPanicInDiscovery(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := t.TempDir()
	f := writeFile(t, dir+"/mail.pem", p.long.fullchain())
	writeFile(t, dir+"/postconf", nil)
	yes := true
	c := newTestCollector(t, Config{Files: []string{f}, Discover: Discover{Postfix: &yes, Postconf: dir + "/postconf"}}, nil)
	c.run = func(context.Context, string, ...string) ([]byte, error) { panic("boom") }
	got, err := gatherAll(t, c)
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	if v, ok := got[`mailwatch_cert_discovery_success{source="postfix"}`]; !ok || v != 0 {
		t.Errorf("discovery_success = %v (present %v), want 0", v, ok)
	}
	if v := got[`mailwatch_cert_check_success{target="`+f+`"}`]; v != 1 {
		t.Errorf("check_success = %v, want 1; all: %v", v, got)
	}
}

// TestPanicInEmission: a target whose metrics panic half-way is exported
// as check_success 0 alone (what it made before the panic is dropped, or
// its check_success would be sent twice), and the next target as usual.
func TestPanicInEmission(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	c := newTestCollector(t, Config{}, nil)
	c.logger = zap.New(core)
	ch := make(chan prometheus.Metric, 10)
	r := &run{c: c, ch: ch, now: testNow, seen: map[string]bool{}}
	r.target("a", func() bool {
		r.gauge(checkDesc, 1, "a")
		var chain []int
		_ = chain[0]
		return true
	})
	r.target("b", func() bool {
		r.gauge(checkDesc, 1, "b")
		return true
	})
	close(ch)
	var got []string
	for m := range ch {
		k, v := collectortest.Sample(m)
		got = append(got, fmt.Sprintf("%s %v", k, v))
	}
	want := []string{`mailwatch_cert_check_success{target="a"} 0`, `mailwatch_cert_check_success{target="b"} 1`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if r.total != 2 || r.ok != 1 {
		t.Errorf("total %d ok %d, want 2 1", r.total, r.ok)
	}
	e := logs.FilterMessage("certificate check panicked, the target is reported as failed").All()
	if len(e) != 1 || !strings.Contains(e[0].ContextMap()["error"].(string), "index out of range") {
		t.Errorf("logged %v, want the panic", logs.All())
	}
}
