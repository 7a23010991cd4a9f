// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package archtest checks the package graph: every import points down the
// layers that docs/architecture.md describes.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/mailwatchd/mailwatchd/"

// layers lists the module's packages from the bottom up, by path below the
// module (a trailing "/" covers a whole subtree). A package may import one
// of a lower layer only; in the layers marked shared, packages may also
// import each other (support packages of one collector or of the log
// pipeline, where Go itself rules out cycles).
var layers = []struct {
	name   string
	pkgs   []string
	shared bool
}{
	{"leaf values", []string{"internal/buildinfo", "internal/confval"}, false},
	{"collector kit", []string{"internal/collectors"}, false},
	{"support", []string{"internal/collectors/internal/", "internal/collectors/service/internal/", "internal/collectors/collectortest", "internal/logparse/", "internal/report/pflogsumm"}, true},
	{"collectors and log pipeline", []string{"internal/collectors/", "internal/logparse"}, false},
	{"configuration", []string{"internal/config"}, false},
	{"scheduler", []string{"internal/scheduler"}, false},
	{"web", []string{"internal/web"}, false},
	{"commands", []string{"internal/check", "internal/doctor", "internal/report"}, false},
	{"main", []string{"cmd/"}, false},
}

// layerOf returns the index of the layer of a package path below the
// module, by its most specific pattern, or -1.
func layerOf(p string) int {
	best, bestLen := -1, -1
	for i, l := range layers {
		for _, pat := range l.pkgs {
			match := p == pat || (strings.HasSuffix(pat, "/") && strings.HasPrefix(p, pat))
			if match && len(pat) > bestLen {
				best, bestLen = i, len(pat)
			}
		}
	}
	return best
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		self := strings.TrimPrefix(p.ImportPath, module)
		if self == "internal/archtest" || self == "deploy" || strings.HasPrefix(self, "test/") {
			continue // tests of the repository itself, not layers of the daemon
		}
		n++
		from := layerOf(self)
		if from < 0 {
			t.Errorf("%s is in no layer: place it in layers (and docs/architecture.md)", self)
			continue
		}
		for _, imp := range p.Imports {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			to := layerOf(dep)
			switch {
			case to < 0:
				t.Errorf("%s imports %s, which is in no layer", self, dep)
			case to > from, to == from && !layers[from].shared:
				t.Errorf("%s (%s) imports %s (%s): imports must point down", self, layers[from].name, dep, layers[to].name)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d packages listed; is go list looking at the module?", n)
	}
}

// TestLayerOf keeps the matching itself honest.
func TestLayerOf(t *testing.T) {
	for p, want := range map[string]string{
		"internal/confval":                          "leaf values",
		"internal/collectors":                       "collector kit",
		"internal/collectors/certs":                 "collectors and log pipeline",
		"internal/collectors/internal/dnsclient":    "support",
		"internal/collectors/collectortest":         "support",
		"internal/logparse":                         "collectors and log pipeline",
		"internal/logparse/anything":                "support",
		"internal/scheduler":                        "scheduler",
		"cmd/mailwatchd":                            "main",
		"internal/collectors/service/internal/fake": "support",
	} {
		if got := layerOf(p); got < 0 || layers[got].name != want {
			t.Errorf("layerOf(%s) = %d, want %s", p, got, want)
		}
	}
	if layerOf("internal/nowhere") != -1 {
		t.Error("an unknown package matched a layer")
	}
}
