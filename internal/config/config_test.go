// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

func TestLoadExample(t *testing.T) {
	t.Parallel()
	cfg, err := Load("../../config.example.yaml")
	if err != nil {
		t.Fatalf("config.example.yaml must load: %v", err)
	}
	// The example documents the defaults: it must mean the same as no file.
	def, err := Parse("empty", nil)
	if err != nil {
		t.Fatal(err)
	}
	regexpEqual := cmp.Comparer(func(a, b confval.Regexp) bool {
		return (a.Regexp == nil) == (b.Regexp == nil) && (a.Regexp == nil || a.String() == b.String())
	})
	if diff := cmp.Diff(def, cfg, cmpopts.EquateEmpty(), regexpEqual); diff != "" {
		t.Errorf("config.example.yaml differs from the built-in defaults (-defaults +example):\n%s", diff)
	}
}

func TestExampleMentionsEveryKey(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	idx := newIndex()
	idx.walkText(t, data)
	for _, s := range (&Collectors{}).Sections() {
		if _, ok := idx.lineOf["collectors."+s.Name]; !ok {
			t.Errorf("config.example.yaml has no collectors.%s section", s.Name)
		}
		for _, k := range []string{"enabled", "interval", "timeout"} {
			if _, ok := idx.lineOf["collectors."+s.Name+"."+k]; !ok {
				t.Errorf("config.example.yaml lacks collectors.%s.%s", s.Name, k)
			}
		}
	}
}

func TestGoodConfigs(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no good fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			if _, err := Load(f); err != nil {
				t.Errorf("want valid, got: %v", err)
			}
		})
	}
}

func TestBadConfigs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []string // every substring must appear, each problem on its own line
	}{
		{"typos.bad.yaml", []string{
			`line 5: collectors.filesystem.intervall: unknown key "intervall"`,
			`line 6: collectors.filesystem.interval: invalid duration "5x"`,
			`line 7: collectors.filesystem.timeout: 1m0s must be shorter than interval`,
		}},
		{"nested-unknown.bad.yaml", []string{`line 1: colectors: unknown key "colectors"`}},
		{"global-unknown.bad.yaml", []string{`line 2: global.state_dri: unknown key "state_dri"`}},
		{"paths.bad.yaml", []string{
			`paths[0]: must be an absolute path, got "relative"`,
			`paths[1]: "/var/log/" is not clean; write "/var/log"`,
			`paths[3]: "/var/log" is listed twice`,
		}},
		{"types.bad.yaml", []string{
			`line 2: global.stale_after_intervals: expected a number, got string "lots"`,
			`line 5: collectors.filesystem.enabled: expected true or false, got string "maybe"`,
			`line 6: collectors.filesystem.paths: expected a list, got string`,
		}},
		{"syntax.bad.yaml", []string{"line 2: did not find expected"}},
		{"min-interval.bad.yaml", []string{`line 3: collectors.filesystem.interval: 1s is below the minimum of 5s`}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			_, err := Load(filepath.Join("testdata", tc.file))
			if err == nil {
				t.Fatal("want an error, got none")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *config.Error, got %T: %v", err, err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q; got:\n%s", w, msg)
				}
			}
			if len(ce.Problems) < len(tc.want) {
				t.Errorf("want at least %d problems, got %d:\n%s", len(tc.want), len(ce.Problems), msg)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("x", []byte("collectors:\n  filesystem:\n    interval: 6s\n"))
	if err != nil {
		t.Fatal(err)
	}
	fs := cfg.Collectors.Filesystem
	if got := fs.Timeout.D(); got != 4*time.Second {
		t.Errorf("timeout defaulted to %s, want 4s (2/3 of a 6s interval)", got)
	}
	if !fs.IsEnabled() {
		t.Error("filesystem should be enabled by default")
	}
	if diff := cmp.Diff([]string{"/var/spool/postfix", "/var/mail", "/var/log"}, fs.Paths); diff != "" {
		t.Errorf("default paths (-want +got):\n%s", diff)
	}
	if cfg.Global.StateDir != "/var/lib/mailwatchd" || cfg.Global.StaleAfterIntervals != 3 {
		t.Errorf("global defaults: %+v", cfg.Global)
	}
}

// TestUnknownKeyAtEveryDepth guards against the yaml.v3 trap where a
// node-style UnmarshalYAML on a struct silently turns off KnownFields.
func TestUnknownKeyAtEveryDepth(t *testing.T) {
	t.Parallel()
	docs := map[string]string{
		"top":        "bogus: 1\n",
		"global":     "global:\n  bogus: 1\n",
		"collectors": "collectors:\n  bogus: {}\n",
	}
	for _, s := range (&Collectors{}).Sections() {
		docs["collectors."+s.Name] = "collectors:\n  " + s.Name + ":\n    bogus: 1\n"
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(name, []byte(doc))
			if err == nil || !strings.Contains(err.Error(), `unknown key "bogus"`) {
				t.Errorf("want unknown key error, got %v", err)
			}
		})
	}
}

func (x *index) walkText(t *testing.T, data []byte) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		t.Fatal(err)
	}
	x.walk(&n, "")
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "global: {}\n", "collectors:\n  filesystem:\n    paths: [/a]\n", "a: [\n", "global:\n  state_dir: 5\n"} {
		f.Add([]byte(s))
	}
	if data, err := os.ReadFile("../../config.example.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(aliasBomb))
	f.Add([]byte("a: 1\n---\nb: 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz", data)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && cfg != nil {
			t.Fatal("config returned with an error")
		}
	})
}

// aliasBomb is the "billion laughs" of YAML: 342 bytes whose aliases name
// 9^9 nodes. Before the walk was bounded, Parse grew past 2 GiB on it.
const aliasBomb = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

// TestAliasBombRefused: a file whose aliases expand beyond the limits is
// refused with a clear error, and refusing it costs a few MiB at most (the
// daemon parses a reloaded file while it runs).
func TestAliasBombRefused(t *testing.T) {
	longKey := strings.Repeat("k", 60_000)
	wide := "x: &x\n  ? " + longKey + "\n  : 1\ny: &y [*x,*x,*x,*x,*x,*x,*x,*x,*x,*x]\nz: [*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y,*y]\n"
	for name, doc := range map[string]string{"nodes": aliasBomb, "long keys": wide} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Parse("bomb.yaml", []byte(doc))
			runtime.ReadMemStats(&after)
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), "alias bomb") {
				t.Fatalf("want the file refused as an alias bomb, got %v", err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("refusing the file allocated %d MiB", grew>>20)
			}
		})
	}
	// Aliases a real configuration uses are still fine.
	ok := "collectors:\n  filesystem:\n    paths: &p [/var/log]\n  backup:\n    sets:\n      - name: mail\n        path: /srv/backup/*.tar.gz\n"
	if _, err := Parse("ok.yaml", []byte(ok)); err != nil {
		t.Errorf("a small alias: %v", err)
	}
}

func TestSecondDocumentRefused(t *testing.T) {
	t.Parallel()
	_, err := Parse("two.yaml", []byte("global:\n  state_dir: /var/lib/mailwatchd\n---\ncollectors:\n  filesytem: {}\n"))
	if err == nil || !strings.Contains(err.Error(), "line 4: a second YAML document") {
		t.Errorf("want the second document refused at line 4, got %v", err)
	}
	// An empty document after a trailing marker holds nothing to lose.
	if _, err := Parse("trailing.yaml", []byte("global:\n  state_dir: /var/lib/mailwatchd\n---\n")); err != nil {
		t.Errorf("trailing ---: %v", err)
	}
	if _, err := Parse("leading.yaml", []byte("---\nglobal:\n  state_dir: /var/lib/mailwatchd\n")); err != nil {
		t.Errorf("leading ---: %v", err)
	}
}

func TestStaleWindowBounded(t *testing.T) {
	t.Parallel()
	for doc, want := range map[string]string{
		// 9223372036 × 1 s overflowed time.Duration into a negative window.
		"global:\n  stale_after_intervals: 9223372036\n":                                      "line 2: global.stale_after_intervals: must be at most 1000",
		"global:\n  stale_after_intervals: 1000\ncollectors:\n  mailbox:\n    interval: 1w\n": "collectors.mailbox.interval: 7d × global.stale_after_intervals (1000) is longer than 365d",
	} {
		_, err := Parse("stale.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: want %q, got %v", doc, want, err)
		}
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("roles.yaml", []byte("global:\n  roles: [mx, submission, imap]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Global.Roles, ","); got != "mx,submission,imap" {
		t.Errorf("roles = %q", got)
	}
	for doc, want := range map[string]string{
		"global:\n  roles: [MX]\n":                        `line 2: global.roles[0]: "MX": a role is 1 to 32 lower-case letters`,
		"global:\n  roles:\n    - mx\n    - mx\n":         `line 4: global.roles[1]: "mx" is listed twice`,
		"global:\n  roles: [a, b, c, d, e, f, g, h, i]\n": "line 2: global.roles: at most 8 roles, got 9",
		"global:\n  roles: [\"mx role\"]\n":               `global.roles[0]: "mx role": a role is`,
	} {
		_, err := Parse("roles.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: want %q, got %v", doc, want, err)
		}
	}
}

func TestLoadRefusesNonRegularAndHugeFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: want 'not a regular file', got %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", maxConfigBytes)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than 1024 KiB") {
		t.Errorf("2 MiB file: want 'larger than', got %v", err)
	}
}

var sectionNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// TestEverySectionBuilds: config.Collectors is the one list of collectors.
// Every section has a unique snake_case name that the README documents,
// builds its collector from the defaults, and the collector's descriptors
// register cleanly on a pedantic registry.
func TestEverySectionBuilds(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("defaults", nil)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	reg := prometheus.NewPedanticRegistry()
	for _, s := range cfg.Collectors.Sections() {
		if !sectionNameRe.MatchString(s.Name) || seen[s.Name] {
			t.Errorf("collector name %q is not snake_case, or used twice", s.Name)
		}
		seen[s.Name] = true
		if !strings.Contains(string(readme), "`"+s.Name+"`") {
			t.Errorf("README.md does not document collector `%s`", s.Name)
		}
		c, err := s.Build(zap.NewNop())
		if err != nil {
			t.Errorf("collector %q with defaults: %v", s.Name, err)
			continue
		}
		if err := reg.Register(&collectortest.Adapter{C: c}); err != nil {
			t.Errorf("collector %q descriptors: %v", s.Name, err)
		}
		if cl, ok := c.(interface{ Close() error }); ok {
			cl.Close()
		}
	}
}
