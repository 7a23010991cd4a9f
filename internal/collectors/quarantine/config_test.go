// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package quarantine

import (
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: 5 * time.Minute, Timeout: time.Minute, MinInterval: 30 * time.Second})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults"},
		{Name: "sets", Config: Config{Sets: []Set{
			{Name: "amavis", Paths: []string{"/var/lib/amavis/virusmails", "/var/lib/amavis/virusmails"}},
			{Name: "Junk", Paths: []string{"var/mail/*/.Junk"}},
			{Name: "amavis", Paths: []string{"/var/mail/**/.Junk", "/var/mail/[/x"}},
			{Name: "empty"},
		}, MaxDirectories: -1, MaxDepth: 9}, Want: []string{
			`sets[0].paths[1]: "/var/lib/amavis/virusmails" is listed twice`,
			`sets[1].name: must be snake_case, got "Junk"`,
			`sets[1].paths[0]: must be an absolute path`,
			`sets[2].name: "amavis" is used twice`,
			`sets[2].paths[0]: ** is not supported; use one * per directory level in "/var/mail/**/.Junk"`,
			`sets[2].paths[1]: bad pattern "[" in "/var/mail/[/x"`,
			`sets[3].paths: must list 1 to 20 directories, got 0`,
			`max_directories: must be between 1 and 10000000, got -1`,
			`max_depth: must be between 1 and 8, got 9`,
		}},
		{Name: "unknown key", YAML: "set: []", DecodeError: "field set not found"},
	})
}
