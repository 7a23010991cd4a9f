// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package updates

import (
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: time.Hour, Timeout: 2 * time.Minute, MinInterval: 10 * time.Minute})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults"},
		{Name: "bare name", Config: Config{AptGet: "apt-get"}},
		{Name: "with arguments", Config: Config{AptGet: "apt-get -s"}, Want: []string{`apt_get: "apt-get -s" is neither an absolute path nor a command name`}},
		{Name: "relative", Config: Config{AptGet: "bin/apt-get", AptListsDir: "/var/lib/apt/lists/", RebootRequiredFile: "reboot-required"}, Want: []string{
			`apt_get: must be an absolute path, got "bin/apt-get"`,
			`apt_lists_dir: "/var/lib/apt/lists/" is not clean`,
			`reboot_required_file: must be an absolute path`,
		}},
		{Name: "unknown key", YAML: "apt: /usr/bin/apt-get", DecodeError: "field apt not found"},
	})
}
