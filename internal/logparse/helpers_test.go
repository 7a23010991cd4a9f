// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"sync/atomic"
	"testing"
)

// newRuleSetPtr returns a rule set with the built-in rules only, bound to c.
func newRuleSetPtr(tb testing.TB, c *counters, rules ...RuleConfig) *atomic.Pointer[ruleSet] {
	tb.Helper()
	rs, err := c.newRuleSet(rules, DefaultProviders(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	var p atomic.Pointer[ruleSet]
	p.Store(rs)
	return &p
}
