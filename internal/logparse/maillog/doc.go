// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package maillog is the pure half of the log pipeline: it splits a mail
// host's log line once into timestamp, host, program, pid and message
// (Parse, or JournalDecoder for `journalctl --output=json` records) and
// classifies the Entry with an ordered, program-indexed rule set
// (Classifier) into a Result: built-in events, Postfix pflogsumm actions and
// reject reasons, Postfix deliveries (Delivery: status, transport, the class
// of the reply, the mailbox provider, delay= and delays=), and user rule
// matches, and the mail flow (Flow: smtpd connections and lost connections
// by master.cf service and stage, TLS by direction and trust, qmgr's size
// line, postscreen verdicts, antispam verdicts). ClassifyReply classes
// delivery replies; the queue collector
// classes its deferred reasons with the same table (ClassifyQueueReason).
//
// It does no I/O, keeps no clock and no mutable global state: Parse never
// panics and does not allocate, a Classifier is immutable and safe for
// concurrent use. Built-in rules use literal prefixes and substrings only;
// user rules run their regular expression only when the program and a
// literal taken from the expression already match.
//
// The label enumerations (Program, Event, Action, Reason, Transport,
// DeliveryStatus, DeliveryReason, DelayStage, SMTPStage, TLSDirection,
// TLSTrust, PostscreenEvent, Scanner, Verdict) are fixed and complete;
// provider and service names come from the configuration; label values never come from
// log text.
package maillog
