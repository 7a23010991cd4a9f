// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/check"
	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/logparse"
	mwweb "github.com/mailwatchd/mailwatchd/internal/web"
)

// saslSenders turns the log pipeline's SASL window into check's values.
func saslSenders(w []logparse.SASLSender) []check.SASLSender {
	out := make([]check.SASLSender, len(w))
	for i, s := range w {
		out[i] = check.SASLSender{User: s.User, Messages: s.Messages, ClientIPs: s.ClientIPs}
	}
	return out
}

// topSASLSection is the status page's "top SASL senders" section: the
// names behind the rank slots of mailwatch_postfix_sasl_top_sender_messages.
func topSASLSection(p *logparse.Pipeline) func() []mwweb.SASLSender {
	return func() []mwweb.SASLSender {
		top := p.TopSASLSenders()
		out := make([]mwweb.SASLSender, len(top))
		for i, s := range top {
			out[i] = mwweb.SASLSender{Rank: i + 1, User: s.User, Messages: s.Messages, ClientIPs: s.ClientIPs}
		}
		return out
	}
}

// saslLogInterval is how often the daemon looks for SASL users above the
// thresholds to log.
const saslLogInterval = time.Minute

// logSASLSenders logs, once a minute until ctx ends, each SASL user that
// went above sasl_messages_warning or sasl_client_ips_warning (once, when
// it does) and each that came back below: the daemon's log names the user
// that the metrics only rank.
func logSASLSenders(ctx context.Context, p *logparse.Pipeline, thresholds func() config.Thresholds, logger *zap.Logger) {
	t := time.NewTicker(saslLogInterval)
	defer t.Stop()
	above := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		logSASLChanges(p.SASLWindow(), thresholds(), above, logger)
	}
}

// logSASLChanges logs the users of w that crossed the thresholds since the
// last call (above holds those above then; it is updated).
func logSASLChanges(w []logparse.SASLSender, th config.Thresholds, above map[string]bool, logger *zap.Logger) {
	now := make(map[string]bool, len(above))
	for _, s := range w {
		if s.Messages <= th.SASLMessagesWarning && s.ClientIPs <= th.SASLClientIPsWarning {
			continue
		}
		now[s.User] = true
		if !above[s.User] {
			logger.Warn("SASL user above the submission thresholds: a compromised account?",
				zap.String("sasl_username", s.User), zap.Int("messages", s.Messages), zap.Int("client_ips", s.ClientIPs),
				zap.Int("recipients", s.Recipients), zap.Int("deferred", s.Deferred), zap.Int("bounced", s.Bounced))
		}
	}
	for u := range above {
		if !now[u] {
			logger.Info("SASL user back below the submission thresholds", zap.String("sasl_username", u))
		}
	}
	clear(above)
	for u := range now {
		above[u] = true
	}
}
