// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package registry is the one list of mailwatchd's collectors. Adding a
// collector is its package, its section in config.Collectors and one entry
// here; a test checks that the two lists agree.
package registry

import (
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/pkg/collectors"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/backup"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/certs"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/clamav"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/dnsbl"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/fail2ban"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/filesystem"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/mailbox"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/maildns"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/postfixqueue"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/service"
	"github.com/mailwatchd/mailwatchd/pkg/collectors/updates"
)

// Factory builds one collector from the whole config.
type Factory struct {
	// Name is the config key under collectors: and the collector label.
	Name string
	New  func(cfg *config.Config, logger *zap.Logger) (collectors.Collector, error)
}

// Factories lists every collector, in the order the landing page shows them.
func Factories() []Factory {
	return []Factory{
		{Name: service.Name, New: func(c *config.Config, l *zap.Logger) (collectors.Collector, error) {
			return service.New(c.Collectors.Service, l)
		}},
		{Name: filesystem.Name, New: func(c *config.Config, l *zap.Logger) (collectors.Collector, error) {
			return filesystem.New(c.Collectors.Filesystem, l)
		}},
		{Name: "postfix_queue", New: func(c *config.Config, l *zap.Logger) (collectors.Collector, error) {
			return postfixqueue.New(c.Collectors.PostfixQueue, l)
		}},
		{Name: "mailbox", New: func(c *config.Config, l *zap.Logger) (collectors.Collector, error) {
			return mailbox.New(c.Collectors.Mailbox, l)
		}},
		{Name: "backup", New: func(c *config.Config, l *zap.Logger) (collectors.Collector, error) {
			return backup.New(c.Collectors.Backup, l)
		}},
		{Name: "certs", New: func(c *config.Config, l *zap.Logger) (collectors.Collector, error) {
			return certs.New(c.Collectors.Certs, l)
		}},
		{Name: "dnsbl", New: func(c *config.Config, l *zap.Logger) (collectors.Collector, error) {
			return dnsbl.New(c.Collectors.DNSBL, l)
		}},
		{Name: "mail_dns", New: func(c *config.Config, l *zap.Logger) (collectors.Collector, error) {
			return maildns.New(c.Collectors.MailDNS, l)
		}},
		{Name: "clamav", New: func(c *config.Config, l *zap.Logger) (collectors.Collector, error) {
			return clamav.New(c.Collectors.ClamAV, l)
		}},
		{Name: "fail2ban", New: func(c *config.Config, l *zap.Logger) (collectors.Collector, error) {
			return fail2ban.New(c.Collectors.Fail2ban, l)
		}},
		{Name: "updates", New: func(c *config.Config, l *zap.Logger) (collectors.Collector, error) {
			return updates.New(c.Collectors.Updates, l)
		}},
	}
}
