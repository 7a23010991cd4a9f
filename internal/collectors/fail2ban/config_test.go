// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package fail2ban

import (
	"strings"
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
		{Name: "no log", Config: Config{LogFile: NoLogFile}},
		{Name: "paths", Config: Config{Database: "fail2ban.sqlite3", LogFile: "/var/log/../log/fail2ban.log"}, Want: []string{
			`database: must be an absolute path, got "fail2ban.sqlite3"`,
			`log_file: "/var/log/../log/fail2ban.log" is not clean`,
		}},
		{Name: "find_time", Config: Config{FindTime: 8 * 24 * 3600 * 1e9}, Want: []string{"find_time: must be between 1s and 7d, got 8d"}},
		{Name: "max_jails", Config: Config{MaxJails: 65}, Want: []string{"max_jails: must be between 1 and 64, got 65"}},
		{Name: "jails", Config: Config{Jails: []string{"postfix", "post fix", "_other", "postfix", "", strings.Repeat("j", 65)}}, Want: []string{
			`jails[1]: "post fix" is not a jail name`,
			`jails[2]: "_other" is reserved`,
			`jails[3]: "postfix" is listed twice`,
			`jails[4]: "" is not a jail name`,
			`jails[5]: "jjjj`,
		}},
		{Name: "unknown key", YAML: "jail: [postfix]", DecodeError: "field jail not found"},
	})
}
