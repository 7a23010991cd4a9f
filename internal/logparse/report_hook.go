// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import "github.com/mailwatchd/mailwatchd/internal/logparse/maillog"

// The exported hook of `mailwatchd report` (internal/report), which runs its
// own sink over the lines but must classify them exactly as the daemon and
// replay do, and print unmatched shapes as replay prints them.

// NewClassifier builds the classifier of cfg's rules and providers: the one
// the daemon's sink uses (newRuleSet compiles the same way).
func NewClassifier(cfg Config) (*maillog.Classifier, error) {
	rules := make([]maillog.Rule, len(cfg.Rules))
	for i, r := range cfg.Rules {
		rules[i] = maillog.Rule{Name: r.Name, Program: r.Program, Match: r.Match.Regexp}
	}
	return maillog.NewClassifier(rules, classifierProviders(cfg.Providers))
}

// MaskShape is the shape of a message as replay prints it: addresses, ids
// and numbers masked, at most 160 bytes.
func MaskShape(msg []byte) string { return maskShape(msg) }
