// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package follow

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The journal follower runs against a fake journalctl in the pipeline's
// tests (../journal_test.go), which also save and resume its cursor.

func TestJournalArgs(t *testing.T) {
	s := &journalSource{opt: JournalOptions{Units: []string{"postfix@-.service", "dovecot.service"}, Identifiers: []string{"opendkim"}}}
	base := []string{"--follow", "--output=json", "--output-fields=" + journalFields, "--all", "--no-pager", "--quiet", "--no-tail"}
	matches := []string{"_SYSTEMD_UNIT=postfix@-.service", "_SYSTEMD_UNIT=dovecot.service", "+", "SYSLOG_IDENTIFIER=opendkim"}
	if diff := cmp.Diff(append(append([]string{}, base...), matches...), s.args()); diff != "" {
		t.Errorf("from the beginning (-want +got):\n%s", diff)
	}
	s.since = 1795420000000042
	if got := s.args(); got[len(base)] != "--since=@1795420000.000042" {
		t.Errorf("start at end: %v", got)
	}
	s.cursor = "s=abc;i=1"
	if got := s.args(); got[len(base)] != "--after-cursor=s=abc;i=1" {
		t.Errorf("resume: %v", got)
	}
	s.opt.Units = nil
	if got := s.args(); got[len(got)-1] != "SYSLOG_IDENTIFIER=opendkim" || got[len(got)-2] == "+" {
		t.Errorf("identifiers only: %v", got)
	}
}
