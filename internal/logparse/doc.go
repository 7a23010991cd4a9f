// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package logparse is mailwatchd's log pipeline: it follows the mail host's
// logs (files through every kind of rotation, or the systemd journal through
// journalctl), splits each line once into timestamp, host, program, pid and
// message, classifies it with an ordered, program-indexed rule set, and keeps
// the results as bounded counters that a Pipeline exports as a
// prometheus.Collector.
//
// It is built in three layers, from the bottom up:
//
//   - package maillog is pure: Parse splits one line (traditional syslog,
//     RFC 3339, Postfix's maillog_file, Dovecot's log_path, fail2ban's own
//     file; JournalDecoder a `journalctl -o json` record) into an Entry, and
//     a Classifier maps an Entry to a Result: built-in events, Postfix
//     pflogsumm actions and reject reasons, deliveries (status, transport,
//     reply class, provider, delays), and user rule matches. No I/O.
//   - package follow does the I/O: a polling file follower and a journalctl
//     follower read a source and hand each line to a follow.Sink, holding
//     the checkpoint lock while they count a chunk and advance their
//     positions (follow.State) together.
//   - this package ties them together: the sink (counters.go) classifies
//     and counts each line (the delivery series in deliveries.go); Pipeline runs one follower per configured
//     source, saves positions and counters atomically in the state
//     directory (state.go) so that a restart neither loses nor double-counts
//     lines, reloads (Apply) and exports the counters; Replay and Replayer
//     run the same sink over whole files for `mailwatchd replay`.
//
// Label values come only from configuration (source, rule and provider
// names) or from the fixed enumerations of package maillog, never from log
// text.
package logparse
