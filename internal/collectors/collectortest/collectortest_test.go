// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectortest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

var (
	valueDesc = prometheus.NewDesc("mailwatch_kit_value", "A value.", []string{"path", "kind"}, nil)
	totalDesc = prometheus.NewDesc("mailwatch_kit_events_total", "Events.", nil, nil)
)

// fake sends one gauge per path and a counter; with hang, its work blocks
// under a guard until release is closed.
type fake struct {
	paths   []string
	value   float64
	err     error
	guard   collectors.Guard[struct{}]
	started chan struct{}
	release chan struct{}
}

func (f *fake) Describe(ch chan<- *prometheus.Desc) {
	ch <- valueDesc
	ch <- totalDesc
}

func (f *fake) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	if f.release != nil {
		if _, err := f.guard.Do(ctx, func() struct{} {
			f.started <- struct{}{}
			<-f.release
			return struct{}{}
		}); err != nil {
			return err
		}
	}
	for _, p := range f.paths {
		ch <- collectors.Gauge(valueDesc, f.value, p, "file")
	}
	ch <- collectors.Counter(totalDesc, 3)
	return f.err
}

// recorder is a testing.TB that keeps the failures of the helper under
// test instead of failing this test.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// record runs f with a recorder on a goroutine of its own (Fatal ends
// it) and returns the failures.
func record(t *testing.T, f func(tb testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.failed
}

func TestRunAndSample(t *testing.T) {
	t.Parallel()
	f := &fake{value: 2, err: errors.New("partial")}
	for i := range 2000 { // more than any channel buffer: Run must not block
		f.paths = append(f.paths, fmt.Sprintf("/p%d", i))
	}
	got, err := Run(t.Context(), f)
	if err == nil || err.Error() != "partial" {
		t.Errorf("Run error %v, want the run's", err)
	}
	if len(got) != 2001 {
		t.Errorf("%d samples, want 2001", len(got))
	}
	if v, ok := got[`mailwatch_kit_value{kind="file",path="/p7"}`]; !ok || v != 2 {
		t.Errorf("gauge: %v %v, want 2 with the labels sorted by name", v, ok)
	}
	if v := got[`mailwatch_kit_events_total{}`]; v != 3 {
		t.Errorf("counter: %v, want 3", v)
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	if *update {
		t.Skip("the kit's own golden files are written by hand: this test makes a run differ on purpose")
	}
	f := &fake{paths: []string{"/srv/a"}, value: 1}
	if err := CheckGolden(t, f, "kit", false); err != nil {
		t.Fatal(err)
	}
	f.value = 5
	if failed := record(t, func(tb testing.TB) { _ = Golden(tb, f, "kit") }); len(failed) != 1 || !strings.Contains(failed[0], "mailwatch_kit_value") {
		t.Errorf("a changed value: failures %q, want one naming the metric", failed)
	}
	dir := t.TempDir()
	if err := GoldenDir(t, &fake{paths: []string{dir + "/a"}, value: 1}, "kit_dir", dir); err != nil {
		t.Fatal(err)
	}
	f.value, f.err = 1, errors.New("total failure")
	if failed := record(t, func(tb testing.TB) { _ = CheckGolden(tb, f, "kit", false) }); len(failed) != 1 || !strings.Contains(failed[0], "total failure") {
		t.Errorf("an unexpected run error: failures %q", failed)
	}
}

func TestHungRun(t *testing.T) {
	t.Parallel()
	f := &fake{started: make(chan struct{}, 1), release: make(chan struct{})}
	HungRun(t, f, f.started)
	close(f.release)
	Eventually(t, "the guard is free", func() bool { return !f.guard.Busy() })
	if _, err := Run(t.Context(), f); err != nil {
		t.Fatalf("after the release: %v", err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	build := func(cfg string, _ *zap.Logger) (*fake, error) {
		if cfg == "" {
			return nil, errors.New("empty")
		}
		return &fake{paths: []string{cfg}}, nil
	}
	if c := New(t, build, "/x", nil); c.paths[0] != "/x" {
		t.Errorf("built %+v", c)
	}
	if failed := record(t, func(tb testing.TB) { New(tb, build, "", nil) }); len(failed) != 1 {
		t.Errorf("refused config: failures %q, want one", failed)
	}
}

// section is a config section with one path, for the table helper.
type section struct {
	collectors.Settings `yaml:",inline"`
	Path                string `yaml:"path"`
}

func (s *section) Defaults() collectors.Defaults { return collectors.Defaults{Enabled: true} }

func (s *section) ApplyDefaults() {
	if s.Path == "" {
		s.Path = "/var/spool"
	}
}

func (s *section) Validate() []error {
	if !strings.HasPrefix(s.Path, "/") {
		return []error{confval.Errorf("path", "must be an absolute path, got %q", s.Path)}
	}
	return nil
}

func (s *section) Build(*zap.Logger) (collectors.Collector, error) { return &fake{}, nil }

func TestValidation(t *testing.T) {
	t.Parallel()
	Validation(t, []Case[section]{
		{Name: "defaults"},
		{Name: "config", Config: section{Path: "spool"}, Want: []string{`path: must be an absolute path, got "spool"`}},
		{Name: "modify", Modify: func(s *section) { s.Path = "x" }, Want: []string{`path: must be an absolute path`}},
		{Name: "yaml", YAML: "path: /srv"},
		{Name: "unknown key", YAML: "paths: [/srv]", DecodeError: "field paths not found"},
	})
}

func TestCheckProblems(t *testing.T) {
	t.Parallel()
	fe := confval.Errorf("a", "bad")
	for _, tc := range []struct {
		name string
		errs []error
		want []string
		fail string
	}{
		{"match", []error{fe}, []string{"a: bad"}, ""},
		{"none", nil, nil, ""},
		{"missing", nil, []string{"a: bad"}, "got 0 problems, want 1"},
		{"extra", []error{fe}, nil, "got 1 problems, want 0"},
		{"text", []error{fe}, []string{"a: good"}, `does not contain "a: good"`},
		{"no path", []error{errors.New("a: bad")}, []string{"a: bad"}, "not a *confval.FieldError"},
	} {
		err := checkProblems(tc.errs, tc.want)
		if tc.fail == "" && err != nil || tc.fail != "" && (err == nil || !strings.Contains(err.Error(), tc.fail)) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.fail)
		}
	}
}

func TestMapFS(t *testing.T) {
	t.Parallel()
	m := MapFS{M: fstest.MapFS{"var/mail/alice": {Data: []byte("hello")}}}
	var names []string
	if err := m.ReadDir("/var/mail", func(ents []fs.DirEntry) error {
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return nil
	}); err != nil || len(names) != 1 || names[0] != "alice" {
		t.Errorf("ReadDir: %v %v", names, err)
	}
	if fi, err := m.Stat("/"); err != nil || !fi.IsDir() {
		t.Errorf("Stat /: %v %v", fi, err)
	}
	f, err := m.Open("/var/mail/alice")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, err := io.ReadAll(f); err != nil || string(b) != "hello" {
		t.Errorf("read %q %v", b, err)
	}
	if _, err := m.Open("/var/mail/bob"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
}
