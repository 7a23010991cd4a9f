// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// core marks the metrics of the daemon itself, present whatever is enabled.
const core = "(core)"

// catalogueOwners maps a metric name prefix of the README table to the collector that exports it
// (first match wins). "logs" is the log pipeline, which runs with its default sources.
var catalogueOwners = []struct{ prefix, owner string }{
	{"mailwatch_build_info", core},
	{"mailwatch_host_info", core},
	{"mailwatch_config_info", "config_drift"},
	{"mailwatch_config_read_success", "config_drift"},
	{"mailwatch_config_change_timestamp_seconds", "config_drift"},
	{"mailwatch_postfix_check_success", "config_drift"},
	{"mailwatch_timer_", "service"},
	{"mailwatch_maintenance_", "maintenance"},
	{"mailwatch_config_", core},
	{"mailwatch_collector_", core},
	{"mailwatch_service_", "service"},
	{"mailwatch_postfix_queue_", "postfix_queue"},
	{"mailwatch_postfix_messages_total", "logs"},
	{"mailwatch_postfix_rejects_total", "logs"},
	{"mailwatch_postfix_deliver", "logs"},
	{"mailwatch_postfix_provider_", "logs"},
	{"mailwatch_postfix_smtpd_", "logs"},
	{"mailwatch_postfix_sasl_", "logs"},
	{"mailwatch_postfix_tls_connections_total", "logs"},
	{"mailwatch_postfix_message_", "logs"},
	{"mailwatch_postfix_postscreen_", "logs"},
	{"mailwatch_postfix_last_action_", "logs"},
	{"mailwatch_antispam_", "logs"},
	{"mailwatch_mailbox_", "mailbox"},
	{"mailwatch_backup_", "backup"},
	{"mailwatch_cert_", "certs"},
	{"mailwatch_clamav_", "clamav"},
	{"mailwatch_fail2ban_", "fail2ban"},
	{"mailwatch_updates_", "updates"},
	{"mailwatch_reboot_required", "updates"},
	{"mailwatch_dnsbl_", "dnsbl"},
	{"mailwatch_dns_", "mail_dns"},
	{"mailwatch_filesystem_", "filesystem"},
	{"mailwatch_log_", "logs"},
	{"mailwatch_postfix_service_", "saturation"},
	{"mailwatch_postfix_stress_mode", "saturation"},
	{"mailwatch_postfix_smtpd_client_limit", "saturation"},
	{"mailwatch_postfix_anvil_rate_time_unit_seconds", "saturation"},
	{"mailwatch_postfix_saturation_success", "saturation"},
	{"mailwatch_dovecot_", "saturation"},
	{"mailwatch_quarantine_", "quarantine"},
	{"mailwatch_roundtrip_", "roundtrip"},
}

// catalogueAbsent are README metrics whose collector StackConfig enables but whose condition
// the harness does not have, with the reason. Each must really be absent: a name that shows up
// after all belongs in the live check, so the list cannot go stale silently.
var catalogueAbsent = map[string]string{
	"mailwatch_mailbox_quota_success":                         "mailbox.quota is off: the harness Dovecot has no quota plugin",
	"mailwatch_mailbox_quota_used_bytes":                      "mailbox.quota is off: the harness Dovecot has no quota plugin",
	"mailwatch_mailbox_quota_used_messages":                   "mailbox.quota is off: the harness Dovecot has no quota plugin",
	"mailwatch_mailbox_quota_limit_bytes":                     "mailbox.quota is off: the harness Dovecot has no quota plugin",
	"mailwatch_mailbox_quota_limit_messages":                  "mailbox.quota is off: the harness Dovecot has no quota plugin",
	"mailwatch_mailbox_quota_usage_ratio":                     "mailbox.quota is off: the harness Dovecot has no quota plugin",
	"mailwatch_timer_last_trigger_timestamp_seconds":          "no systemd, no certbot log, no apt stamp: no timer ever ran (chores_test.go makes them)",
	"mailwatch_timer_next_elapse_timestamp_seconds":           "systemd only; the harness runs without systemd",
	"mailwatch_timer_last_result_success":                     "no timer ever ran (chores_test.go makes one)",
	"mailwatch_timer_last_exit_status":                        "systemd only; the harness runs without systemd",
	"mailwatch_updates_unattended_last_run_timestamp_seconds": "unattended-upgrades is not installed in the harness",
	"mailwatch_updates_unattended_last_run_success":           "unattended-upgrades is not installed in the harness",
	"mailwatch_maintenance_start_timestamp_seconds":           "no maintenance window is set (chores_test.go sets one)",
	"mailwatch_maintenance_end_timestamp_seconds":             "no maintenance window is set (chores_test.go sets one)",
}

// catalogueLazy are README metrics with a series per combination the log has shown, none
// before: the live scrape has them only if the daemon read such lines since its start. They
// are checked for documentation, not presence (TestDeliveriesMatchLog and TestDashboards see
// them with data).
var catalogueLazy = map[string]bool{
	"mailwatch_postfix_delivery_delay_seconds":               true,
	"mailwatch_postfix_delivery_delay_stage_seconds_total":   true,
	"mailwatch_postfix_deliveries_total":                     true,
	"mailwatch_postfix_provider_deliveries_total":            true,
	"mailwatch_postfix_provider_delivery_delay_seconds":      true,
	"mailwatch_postfix_provider_last_sent_timestamp_seconds": true,
	"mailwatch_log_last_event_timestamp_seconds":             true,
	"mailwatch_postfix_last_action_timestamp_seconds":        true,
}

// readmeMetrics returns the metric names of the README's metric table.
func readmeMetrics(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `(mailwatch_[a-z0-9_]+)` \\|")
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		if m := row.FindStringSubmatch(l); m != nil {
			names = append(names, m[1])
		}
	}
	if len(names) < 50 {
		t.Fatalf("README.md: found only %d rows of the metric table; has its format changed?", len(names))
	}
	return names
}

func catalogueOwner(name string) string {
	for _, o := range catalogueOwners {
		if strings.HasPrefix(name, o.prefix) {
			return o.owner
		}
	}
	return ""
}

// testCatalogue compares the README metric table with a live scrape of a daemon running
// StackConfig against the harness: every documented metric of an enabled collector appears
// (unless listed in catalogueAbsent), and every live mailwatch_* metric is documented.
func testCatalogue(t *testing.T, d *Daemon) {
	documented := readmeMetrics(t)
	// The backup set's verification runs in the background: its series appear after it.
	mfs := d.WaitMetrics(t, 30*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		if _, ok := mfs["mailwatch_backup_verify_success"]; !ok {
			return fmt.Errorf("backup not verified yet")
		}
		return nil
	})
	enabled := map[string]bool{core: true, "logs": true}
	for _, s := range Samples(mfs, "mailwatch_collector_success") {
		enabled[s.Labels["collector"]] = true
	}

	doc := map[string]bool{}
	var missing []string
	for _, name := range documented {
		doc[name] = true
		owner := catalogueOwner(name)
		if owner == "" {
			t.Errorf("README metric %s: no owner in catalogueOwners; add its prefix", name)
			continue
		}
		_, live := mfs[name]
		reason, excused := catalogueAbsent[name]
		switch {
		case !enabled[owner]:
			t.Errorf("README metric %s: its collector %s is not enabled in StackConfig", name, owner)
		case excused && live:
			t.Errorf("%s is listed as absent (%s) but the live scrape has it: drop it from catalogueAbsent", name, reason)
		case !excused && !live && !catalogueLazy[name]:
			missing = append(missing, name+" ("+owner+")")
		}
	}
	for name := range catalogueAbsent {
		if !doc[name] {
			t.Errorf("catalogueAbsent lists %s, which the README does not document", name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d metrics of the README table are missing from the live scrape:\n  %s", len(missing), strings.Join(missing, "\n  "))
	}

	var undocumented []string
	for name := range mfs {
		if strings.HasPrefix(name, "mailwatch_") && !doc[name] {
			undocumented = append(undocumented, name)
		}
	}
	sort.Strings(undocumented)
	if len(undocumented) > 0 {
		t.Errorf("%d live metrics are not in the README metric table:\n  %s", len(undocumented), strings.Join(undocumented, "\n  "))
	}
}
