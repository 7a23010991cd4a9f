// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package registry

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/collectortest"
)

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// TestFactoriesMatchConfig: every config section has exactly one factory
// and every factory a section, names are unique and snake_case, and each
// collector's descriptors register cleanly on a pedantic registry.
func TestFactoriesMatchConfig(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("defaults", nil)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, s := range cfg.Collectors.Sections() {
		sections[s.Name] = true
	}
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	reg := prometheus.NewPedanticRegistry()
	for _, f := range Factories() {
		if !nameRe.MatchString(f.Name) {
			t.Errorf("collector name %q is not snake_case", f.Name)
		}
		if seen[f.Name] {
			t.Errorf("collector %q registered twice", f.Name)
		}
		seen[f.Name] = true
		if !sections[f.Name] {
			t.Errorf("collector %q has no config.Collectors section", f.Name)
		}
		if !strings.Contains(string(readme), "`"+f.Name+"`") {
			t.Errorf("README.md does not document collector `%s`", f.Name)
		}
		c, err := f.New(cfg, zap.NewNop())
		if err != nil {
			t.Errorf("collector %q with defaults: %v", f.Name, err)
			continue
		}
		if err := reg.Register(&collectortest.Adapter{C: c}); err != nil {
			t.Errorf("collector %q descriptors: %v", f.Name, err)
		}
		if cl, ok := c.(interface{ Close() error }); ok {
			cl.Close()
		}
	}
	for name := range sections {
		if !seen[name] {
			t.Errorf("config section collectors.%s has no factory", name)
		}
	}
}
