// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package logparse is mailwatchd's log pipeline: it follows the mail host's
// logs (files through every kind of rotation, or the systemd journal through
// journalctl), splits each line once into timestamp, host, program, pid and
// message, classifies it with an ordered, program-indexed rule set, and keeps
// the results as bounded counters that a Pipeline exports as a
// prometheus.Collector.
//
// The pieces, from the bottom up:
//
//   - Parse splits one line (traditional syslog, RFC 3339, Postfix's
//     maillog_file, Dovecot's log_path, fail2ban's own file) into an Entry.
//     It is pure, allocation free and never panics.
//   - A classifier maps an Entry to a Result: built-in events, Postfix
//     pflogsumm actions and reject reasons, and user rule matches. Built-in
//     rules use literal prefixes and substrings only; user rules run their
//     regular expression only when the program and a literal taken from the
//     expression already match.
//   - Sources feed lines: a polling file follower (fileSource) and a
//     journalctl subprocess (journalSource). Their positions, and the
//     counters, are saved atomically in the state directory so that a
//     restart neither loses nor double-counts lines.
//   - Pipeline ties them together; Replayer runs the same rules over old
//     files for `mailwatchd replay`.
//
// Label values come only from configuration (source and rule names) or from
// the fixed enumerations in taxonomy.go, never from log text.
package logparse
