// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package quarantine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// BenchmarkRun: 200 users' .Junk folders with 50 messages each (10 000
// files). "unchanged" is the steady state the cache is for (one stat per
// directory); "cold" lists every directory and lstats every file.
func BenchmarkRun(b *testing.B) {
	root := b.TempDir()
	old := time.Now().Add(-time.Hour)
	for u := range 200 {
		j := filepath.Join(root, fmt.Sprintf("user%03d", u), ".Junk")
		for _, sub := range []string{"cur", "new"} {
			if err := os.MkdirAll(filepath.Join(j, sub), 0o755); err != nil {
				b.Fatal(err)
			}
		}
		for m := range 50 {
			if err := os.WriteFile(filepath.Join(j, "cur", fmt.Sprintf("%d.M%dP1.host:2,S", 1700000000+m, m)), make([]byte, 100), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		settle(b, j, j+"/cur", j+"/new")
	}
	_ = os.Chtimes(root, old, old)
	cfg := cfg(Set{Name: "junk", Paths: []string{root + "/*/.Junk"}})
	b.Run("unchanged", func(b *testing.B) {
		c := newCollector(cfg, collectors.OSFS{}, time.Now, zap.NewNop())
		if _, err := collectortest.Run(b.Context(), c); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := collectortest.Run(b.Context(), c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			c := newCollector(cfg, collectors.OSFS{}, time.Now, zap.NewNop())
			if _, err := collectortest.Run(b.Context(), c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
