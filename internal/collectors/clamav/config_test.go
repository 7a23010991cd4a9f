// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package clamav

import (
	"strings"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: 5 * time.Minute, Timeout: 10 * time.Second, MinInterval: 10 * time.Second})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults"},
		{Name: "relative dir", Config: Config{DatabaseDir: "clamav"}, Want: []string{`database_dir: must be an absolute path, got "clamav"`}},
		{Name: "unclean dir", Config: Config{DatabaseDir: "/var/lib/clamav/"}, Want: []string{`database_dir: "/var/lib/clamav/" is not clean`}},
		{Name: "names", Config: Config{Databases: []string{"main", "daily.cld", "../etc/passwd", "main", ""}}, Want: []string{
			`databases[1]: "daily.cld": write the name without extension ("daily")`,
			`databases[2]: "../etc/passwd" is not a database name`,
			`databases[3]: "main" is listed twice`,
			`databases[4]: "" is not a database name`,
		}},
		{Name: "too many", Config: Config{Databases: strings.Fields("a b c d e f g h i j k l m n o p q")}, Want: []string{"databases: 17 databases, more than 16"}},
		{Name: "unknown key", YAML: "database: /var/lib/clamav", DecodeError: "field database not found"},
	})
}
