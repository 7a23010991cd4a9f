// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"time"

	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Thresholds is the `thresholds:` config section. The defaults equal the
// thresholds of the shipped alert rules (deploy/prometheus/alerts.yml); a
// test keeps the two in step.
type Thresholds struct {
	QueueMessagesWarning  int              `yaml:"queue_messages_warning"`
	QueueMessagesCritical int              `yaml:"queue_messages_critical"`
	DeferredAgeWarning    confval.Duration `yaml:"deferred_age_warning"`
	DiskFreeWarningRatio  float64          `yaml:"disk_free_warning_ratio"`
	DiskFreeCriticalRatio float64          `yaml:"disk_free_critical_ratio"`
	CertExpiryWarning     confval.Duration `yaml:"cert_expiry_warning"`
	CertExpiryCritical    confval.Duration `yaml:"cert_expiry_critical"`
	BackupAgeCritical     confval.Duration `yaml:"backup_age_critical"`
	ClamAVAgeWarning      confval.Duration `yaml:"clamav_age_warning"`
	LogSilenceWarning     confval.Duration `yaml:"log_silence_warning"`
	// ProcessLimitWarningRatio: a Postfix or Dovecot service running this
	// share of its process limit or more is a warning.
	ProcessLimitWarningRatio float64 `yaml:"process_limit_warning_ratio"`
	// SASLMessagesWarning, SASLClientIPsWarning: one SASL user submitting
	// more messages, or from more distinct client addresses, over the log
	// pipeline's sasl_window (default 1h) is a warning that names the user.
	SASLMessagesWarning  int `yaml:"sasl_messages_warning"`
	SASLClientIPsWarning int `yaml:"sasl_client_ips_warning"`
}

// ApplyDefaults fills zero values.
func (t *Thresholds) ApplyDefaults() {
	setInt(&t.QueueMessagesWarning, 100) // Mailborder's "queue depth normal (< 100)"
	setInt(&t.QueueMessagesCritical, 500)
	setDur(&t.DeferredAgeWarning, 4*time.Hour)
	setRatio(&t.DiskFreeWarningRatio, 0.20) // "disk space adequate (> 20 %)"
	setRatio(&t.DiskFreeCriticalRatio, 0.10)
	setDur(&t.CertExpiryWarning, 30*24*time.Hour)
	setDur(&t.CertExpiryCritical, 7*24*time.Hour)
	setDur(&t.BackupAgeCritical, 26*time.Hour) // a nightly backup plus slack
	setDur(&t.ClamAVAgeWarning, 2*24*time.Hour)
	setDur(&t.LogSilenceWarning, time.Hour)
	setRatio(&t.ProcessLimitWarningRatio, 0.9)
	setInt(&t.SASLMessagesWarning, 300)
	setInt(&t.SASLClientIPsWarning, 10)
}

// Validate checks ranges and the order of warning and critical levels.
func (t *Thresholds) Validate() []error {
	var errs []error
	if t.QueueMessagesWarning < 1 {
		errs = append(errs, confval.Errorf("queue_messages_warning", "must be at least 1"))
	}
	if t.QueueMessagesCritical < t.QueueMessagesWarning {
		errs = append(errs, confval.Errorf("queue_messages_critical", "%d is below queue_messages_warning (%d)", t.QueueMessagesCritical, t.QueueMessagesWarning))
	}
	for _, r := range []struct {
		key string
		v   float64
	}{{"disk_free_warning_ratio", t.DiskFreeWarningRatio}, {"disk_free_critical_ratio", t.DiskFreeCriticalRatio}, {"process_limit_warning_ratio", t.ProcessLimitWarningRatio}} {
		if r.v <= 0 || r.v >= 1 {
			errs = append(errs, confval.Errorf(r.key, "must be a ratio between 0 and 1 (0.2 means 20 %%), got %g", r.v))
		}
	}
	if t.SASLMessagesWarning < 1 {
		errs = append(errs, confval.Errorf("sasl_messages_warning", "must be at least 1"))
	}
	if t.SASLClientIPsWarning < 1 {
		errs = append(errs, confval.Errorf("sasl_client_ips_warning", "must be at least 1"))
	}
	if t.DiskFreeCriticalRatio > t.DiskFreeWarningRatio {
		errs = append(errs, confval.Errorf("disk_free_critical_ratio", "%g is above disk_free_warning_ratio (%g)", t.DiskFreeCriticalRatio, t.DiskFreeWarningRatio))
	}
	if t.CertExpiryCritical > t.CertExpiryWarning {
		errs = append(errs, confval.Errorf("cert_expiry_critical", "%s is longer than cert_expiry_warning (%s)", t.CertExpiryCritical, t.CertExpiryWarning))
	}
	return errs
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setRatio(p *float64, v float64) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *confval.Duration, v time.Duration) {
	if *p == 0 {
		*p = confval.Duration(v)
	}
}
