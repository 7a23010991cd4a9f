// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package filesystem

import (
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: 30 * time.Second, Timeout: 10 * time.Second, MinInterval: 5 * time.Second})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults"},
		{Name: "paths", Config: Config{Paths: []string{"/ok", "rel", "/a/../b", "/ok"}}, Want: []string{
			`paths[1]: must be an absolute path`,
			`paths[2]: "/a/../b" is not clean`,
			`paths[3]: "/ok" is listed twice`,
		}},
		{Name: "unknown key", YAML: "path: [/var/mail]", DecodeError: "field path not found"},
	})
}
