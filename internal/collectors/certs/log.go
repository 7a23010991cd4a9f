// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"crypto/x509"
	"errors"
	"strconv"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// logKinds are the things a run can fail at, with the level of a failure
// and the messages of failure and recovery.
var logKinds = map[string]struct {
	level     zapcore.Level
	fail, ok  string
	targetKey string
}{
	"file":      {zap.WarnLevel, "cannot read certificate file", "certificate file readable again", "target"},
	"glob":      {zap.WarnLevel, "cannot expand certificate file pattern", "certificate file pattern readable again", "pattern"},
	"endpoint":  {zap.WarnLevel, "certificate endpoint check failed", "certificate endpoint check succeeds again", "target"},
	"expect":    {zap.WarnLevel, "cannot read the expect_file of an endpoint", "expect_file of an endpoint readable again", "target"},
	"verify":    {zap.InfoLevel, "certificate does not verify", "certificate verifies again", "target"},
	"discovery": {zap.WarnLevel, "cannot discover the certificate files of a mail server", "certificate discovery works again", "source"},
	"roots":     {zap.WarnLevel, "cannot load trust roots, verify_success not exported", "trust roots loaded again", "ca_file"},
	"panic":     {zap.ErrorLevel, "certificate check panicked, the target is reported as failed", "certificate check no longer panics", "target"},
}

// note logs a failure when it starts or changes, and its recovery; never
// the same failure every interval.
func (c *Collector) note(kind, target string, err error) {
	k := logKinds[kind]
	p := collectors.Problem{Level: k.level, Failed: k.fail, Recovered: k.ok, Key: logKey}
	if !c.logs.Note(c.logger, kind+":"+target, err, p, zap.String(k.targetKey, target)) || err == nil {
		return
	}
	var pe *collectors.PanicError
	if errors.As(err, &pe) {
		c.logger.Debug("stack of the panic", zap.String(k.targetKey, target), zap.ByteString("stack", pe.Stack))
	}
}

// logKey is what must change for a failure to be logged again: the error
// without the parts that differ every run (the local port of a connection,
// the current time in x509's "expired" message).
func logKey(err error) string {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) {
		return "x509 invalid, reason " + strconv.Itoa(int(inv.Reason))
	}
	var se *stageError
	if errors.As(err, &se) {
		return se.key()
	}
	return err.Error()
}

// noteDropped warns when the file targets exceed max_files, once per
// change of the count.
func (c *Collector) noteDropped(set fileSet) {
	if set.dropped == c.lastDropped {
		return
	}
	c.lastDropped = set.dropped
	if set.dropped > 0 {
		c.logger.Warn("more certificate files than max_files, the rest are not checked",
			zap.Int("max_files", c.maxFiles), zap.Int("skipped", set.dropped))
	}
}
