// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package check

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/config"
)

// CollectorStatus is what Evaluate needs to know about each collector run.
type CollectorStatus struct {
	Name    string
	Success bool
	Error   string
}

// Evaluate judges one round of results. now is the time of the round.
func Evaluate(f Families, cols []CollectorStatus, th config.Thresholds, now time.Time) []Row {
	var rows []Row
	rows = append(rows, collectorRows(cols)...)
	rows = append(rows, serviceRows(f)...)
	rows = append(rows, queueRows(f, th, now)...)
	rows = append(rows, storageRows(f, th)...)
	rows = append(rows, certRows(f, th, now)...)
	rows = append(rows, blacklistRows(f)...)
	rows = append(rows, dnsRows(f)...)
	rows = append(rows, logRows(f, th, now)...)
	rows = append(rows, backupRows(f, th, now)...)
	rows = append(rows, antispamRows(f, th, now)...)
	rows = append(rows, systemRows(f)...)
	rows = append(rows, saturationRows(f, th)...)
	rows = append(rows, quarantineRows(f, now)...)
	rows = append(rows, choreRows(f, now)...)
	rows = append(rows, roundTripRows(f, now)...)
	Sort(rows)
	return rows
}

func collectorRows(cols []CollectorStatus) []Row {
	var rows []Row
	for _, c := range cols {
		if c.Success {
			continue // a healthy collector speaks through its own rows
		}
		msg := c.Error
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		lvl := Warn
		if strings.Contains(msg, "not present on this host") {
			lvl = OK // absent here: nothing to watch, nothing wrong
			msg = "not present on this host"
		}
		rows = append(rows, Row{Area: "collectors", Item: c.Name, Value: msg, Level: lvl})
	}
	return rows
}

var serviceStates = []string{"active", "reloading", "activating", "deactivating", "inactive", "failed"}

func serviceRows(f Families) []Row {
	var rows []Row
	for _, s := range f.samples("mailwatch_service_present") {
		unit := s.labels["unit"]
		if s.value == 0 {
			rows = append(rows, Row{Area: "services", Item: unit, Value: "not installed", Level: OK})
			continue
		}
		state := "unknown"
		for _, st := range serviceStates {
			if v, ok := f.value("mailwatch_service_state", map[string]string{"unit": unit, "state": st}); ok && v == 1 {
				state = st
			}
		}
		lvl := OK
		switch state {
		case "active":
		case "reloading", "activating":
			lvl = Warn
		default:
			lvl = Crit
		}
		rows = append(rows, Row{Area: "services", Item: unit, Value: state, Level: lvl})
	}
	return rows
}

func queueRows(f Families, th config.Thresholds, now time.Time) []Row {
	byInst := map[string]float64{}
	deferred := map[string]float64{}
	for _, s := range f.samples("mailwatch_postfix_queue_messages") {
		inst := s.labels["postfix_instance"]
		if s.labels["queue"] == "deferred" {
			deferred[inst] += s.value
		}
		if s.labels["queue"] != "corrupt" {
			byInst[inst] += s.value
		}
	}
	var rows []Row
	for _, inst := range slices.Sorted(maps.Keys(byInst)) {
		total := byInst[inst]
		lvl := OK
		switch {
		case total > float64(th.QueueMessagesCritical):
			lvl = Crit
		case total > float64(th.QueueMessagesWarning):
			lvl = Warn
		}
		val := fmt.Sprintf("%.0f queued, %.0f deferred", total, deferred[inst])
		if ts, ok := f.value("mailwatch_postfix_queue_oldest_message_timestamp_seconds", map[string]string{"postfix_instance": inst, "queue": "deferred"}); ok {
			age := since(now, ts)
			val += ", oldest " + HumanDuration(age)
			if age > th.DeferredAgeWarning.D() && lvl == OK {
				lvl = Warn
			}
		}
		item := "postfix queue"
		if inst != "" && inst != "-" && inst != "postfix" {
			item += " (" + inst + ")"
		}
		rows = append(rows, Row{Area: "queue", Item: item, Value: val, Level: lvl})
	}
	return rows
}

func storageRows(f Families, th config.Thresholds) []Row {
	var rows []Row
	for _, s := range f.samples("mailwatch_filesystem_stat_success") {
		path := s.labels["path"]
		if s.value == 0 {
			rows = append(rows, Row{Area: "storage", Item: path, Value: "cannot measure (absent or hung)", Level: Unknown})
			continue
		}
		size, _ := f.value("mailwatch_filesystem_size_bytes", map[string]string{"path": path})
		avail, _ := f.value("mailwatch_filesystem_avail_bytes", map[string]string{"path": path})
		files, _ := f.value("mailwatch_filesystem_files", map[string]string{"path": path})
		ffree, _ := f.value("mailwatch_filesystem_files_free", map[string]string{"path": path})
		ro, _ := f.value("mailwatch_filesystem_readonly", map[string]string{"path": path})
		ratio, iratio := 1.0, 1.0
		if size > 0 {
			ratio = avail / size
		}
		if files > 0 {
			iratio = ffree / files
		}
		low := min(ratio, iratio)
		lvl := OK
		switch {
		case ro == 1 || low < th.DiskFreeCriticalRatio:
			lvl = Crit
		case low < th.DiskFreeWarningRatio:
			lvl = Warn
		}
		val := fmt.Sprintf("%s free (%s), inodes %s free", percent(ratio), HumanBytes(avail), percent(iratio))
		if files == 0 {
			val = fmt.Sprintf("%s free (%s)", percent(ratio), HumanBytes(avail))
		}
		if ro == 1 {
			val += ", READ-ONLY"
		}
		rows = append(rows, Row{Area: "storage", Item: path, Value: val, Level: lvl})
	}
	return rows
}

func certRows(f Families, th config.Thresholds, now time.Time) []Row {
	var rows []Row
	for _, s := range f.samples("mailwatch_cert_check_success") {
		target := s.labels["target"]
		if s.value == 0 {
			rows = append(rows, Row{Area: "certificates", Item: target, Value: "check failed (unreachable or unreadable)", Level: Crit})
			continue
		}
		na, ok := f.value("mailwatch_cert_not_after_timestamp_seconds", map[string]string{"target": target})
		if !ok {
			continue
		}
		left := -since(now, na)
		lvl := OK
		val := "expires in " + HumanDuration(left)
		switch {
		case left <= 0:
			lvl, val = Crit, "EXPIRED "+HumanDuration(-left)+" ago"
		case left < th.CertExpiryCritical.D():
			lvl = Crit
		case left < th.CertExpiryWarning.D():
			lvl = Warn
		}
		var notes []string
		if v, ok := f.value("mailwatch_cert_verify_success", map[string]string{"target": target}); ok && v == 0 {
			notes = append(notes, "does not verify")
			lvl = max(lvl, Warn)
		}
		if v, ok := f.value("mailwatch_cert_endpoint_matches_file", map[string]string{"target": target}); ok && v == 0 {
			notes = append(notes, "serves a different certificate than its file (reload needed?)")
			lvl = max(lvl, Warn)
		}
		rows = append(rows, Row{Area: "certificates", Item: target, Value: joinNonEmpty(append([]string{val}, notes...)...), Level: lvl})
	}
	return rows
}

func blacklistRows(f Families) []Row {
	type agg struct {
		zones, listed, errors int
		on                    []string
	}
	byTarget := map[string]*agg{}
	for _, s := range f.samples("mailwatch_dnsbl_query_success") {
		t := s.labels["target"]
		a := byTarget[t]
		if a == nil {
			a = &agg{}
			byTarget[t] = a
		}
		a.zones++
		if s.value == 0 {
			a.errors++
			continue
		}
		if v, ok := f.value("mailwatch_dnsbl_listed", map[string]string{"target": t, "zone": s.labels["zone"]}); ok && v == 1 {
			a.listed++
			a.on = append(a.on, s.labels["zone"])
		}
	}
	var rows []Row
	for _, t := range slices.Sorted(maps.Keys(byTarget)) {
		a := byTarget[t]
		sort.Strings(a.on)
		switch {
		case a.listed > 0:
			rows = append(rows, Row{Area: "blacklists", Item: t, Value: "LISTED on " + strings.Join(a.on, ", "), Level: Crit})
		case a.errors == a.zones:
			rows = append(rows, Row{Area: "blacklists", Item: t, Value: "could not be queried on " + zones(a.zones), Level: Unknown})
		case a.errors > 0:
			rows = append(rows, Row{Area: "blacklists", Item: t, Value: fmt.Sprintf("not listed on %s, %d could not be queried", zones(a.zones-a.errors), a.errors), Level: Warn})
		default:
			rows = append(rows, Row{Area: "blacklists", Item: t, Value: "not listed on " + zones(a.zones), Level: OK})
		}
	}
	return rows
}

// zones says "1 zone" or "n zones".
func zones(n int) string {
	if n == 1 {
		return "1 zone"
	}
	return fmt.Sprintf("%d zones", n)
}

func dnsRows(f Families) []Row {
	failed := map[string][]string{}
	passed := map[string]int{}
	for _, s := range f.samples("mailwatch_dns_check_success") {
		d := s.labels["domain"]
		if s.value == 1 {
			passed[d]++
		} else {
			failed[d] = append(failed[d], s.labels["check"])
		}
		if _, ok := failed[d]; !ok {
			failed[d] = nil
		}
	}
	// The SPF result of each sending address: anything but pass is a
	// failure, except temperror (the resolver did not answer: the
	// collector's own failure, as for check_query_success).
	for _, s := range f.samples("mailwatch_dns_spf_result") {
		d, res := s.labels["domain"], s.labels["result"]
		switch {
		case s.value != 1 || res == "temperror":
		case res == "pass":
			passed[d]++
		default:
			failed[d] = append(failed[d], "spf "+s.labels["address"]+" "+res)
		}
		if _, ok := failed[d]; !ok {
			failed[d] = nil
		}
	}
	// MTA-STS: a valid policy that covers every MX host, and each MX host
	// as an enforcing sender judges it, named with its reason.
	stsMX := map[string][]string{}
	uncoveredNamed := map[string]bool{}
	for _, s := range f.samples("mailwatch_dns_mta_sts_mx_result") {
		d, res := s.labels["domain"], s.labels["result"]
		if s.value != 1 || res == "ok" {
			continue
		}
		if res == "not_covered" {
			uncoveredNamed[d] = true
		}
		stsMX[d] = append(stsMX[d], "mta-sts "+s.labels["mx"]+": "+stsMXReason(res))
	}
	for _, s := range f.samples("mailwatch_dns_mta_sts_policy_valid") {
		d := s.labels["domain"]
		covered, _ := f.value("mailwatch_dns_mta_sts_mx_covered", map[string]string{"domain": d})
		stale, _ := f.value("mailwatch_dns_mta_sts_policy_changed_without_new_id", map[string]string{"domain": d})
		if s.value == 1 && stale == 1 {
			failed[d] = append(failed[d], "mta-sts policy changed, id not")
		}
		switch {
		case s.value != 1:
			failed[d] = append(failed[d], "mta-sts policy")
		case covered != 1 && !uncoveredNamed[d]:
			failed[d] = append(failed[d], "mta-sts mx not covered")
		case len(stsMX[d]) == 0 && stale != 1:
			passed[d]++
		}
		failed[d] = append(failed[d], stsMX[d]...)
		if _, ok := failed[d]; !ok {
			failed[d] = nil
		}
	}
	var rows []Row
	for _, d := range slices.Sorted(maps.Keys(failed)) {
		if bad := failed[d]; len(bad) > 0 {
			sort.Strings(bad)
			rows = append(rows, Row{Area: "dns", Item: d, Value: "failing: " + strings.Join(bad, ", "), Level: Warn})
			continue
		}
		rows = append(rows, Row{Area: "dns", Item: d, Value: fmt.Sprintf("%d checks pass", passed[d]), Level: OK})
	}
	return append(rows, daneRows(f)...)
}

// stsMXReason says a mailwatch_dns_mta_sts_mx_result value in words.
func stsMXReason(result string) string {
	switch result {
	case "not_covered":
		return "matches no mx pattern of the policy"
	case "starttls_not_supported":
		return "no STARTTLS on port 25"
	case "validation_failure":
		return "TLS handshake fails"
	case "certificate_host_mismatch":
		return "certificate does not name it"
	case "certificate_expired":
		return "certificate expired"
	case "certificate_not_trusted":
		return "certificate not trusted"
	case "unreachable":
		return "port 25 unreachable, certificate not checked"
	}
	return result
}

// daneRows: one row per DANE host: which certificates (served, file) no
// TLSA record matches.
func daneRows(f Families) []Row {
	var rows []Row
	for _, s := range f.samples("mailwatch_dns_dane_query_success") {
		mx := s.labels["mx"]
		item := "DANE " + mx
		if s.value != 1 {
			rows = append(rows, Row{Area: "dns", Item: item, Value: "TLSA query not answered", Level: Unknown})
			continue
		}
		if n, _ := f.value("mailwatch_dns_dane_tlsa_records", map[string]string{"mx": mx}); n == 0 {
			rows = append(rows, Row{Area: "dns", Item: item, Value: "no usable TLSA record", Level: Warn})
			continue
		}
		var bad, good []string
		for _, which := range []string{"served", "file"} {
			lbl := map[string]string{"mx": mx, "certificate": which}
			read, ok := f.value("mailwatch_dns_dane_certificate_read_success", lbl)
			match, _ := f.value("mailwatch_dns_dane_match", lbl)
			switch {
			case !ok:
			case read != 1:
				bad = append(bad, which+" certificate unreadable")
			case match != 1:
				bad = append(bad, "no TLSA record matches the "+which+" certificate")
			default:
				good = append(good, which)
			}
		}
		if len(bad) > 0 {
			rows = append(rows, Row{Area: "dns", Item: item, Value: strings.Join(bad, ", "), Level: Crit})
			continue
		}
		rows = append(rows, Row{Area: "dns", Item: item, Value: "TLSA matches " + strings.Join(good, " and ") + " certificate", Level: OK})
	}
	return rows
}

func logRows(f Families, th config.Thresholds, now time.Time) []Row {
	var rows []Row
	for _, s := range f.samples("mailwatch_log_last_line_timestamp_seconds") {
		src := s.labels["source"]
		age := since(now, s.value)
		lvl := OK
		if age > th.LogSilenceWarning.D() {
			lvl = Warn
		}
		rows = append(rows, Row{Area: "logs", Item: src, Value: "last line " + HumanDuration(age) + " ago", Level: lvl})
	}
	events := map[string]float64{}
	for _, s := range f.samples("mailwatch_log_events_total") {
		events[s.labels["event"]] = s.value
	}
	if len(events) > 0 {
		auth := events["sasl_auth_failure"] + events["dovecot_auth_failure"]
		tls := events["tls_library_problem"] + events["tls_handshake_failure"]
		dkim := events["dkim_unknown_key"] + events["dkim_key_retrieval_failed"]
		rows = append(rows, Row{Area: "logs", Item: "errors seen", Value: fmt.Sprintf("%.0f auth failures, %.0f TLS problems, %.0f DKIM key errors", auth, tls, dkim), Level: OK})
		if dkim > 0 {
			rows[len(rows)-1].Level = Warn
		}
	}
	return rows
}

func backupRows(f Families, th config.Thresholds, now time.Time) []Row {
	var rows []Row
	seen := map[string]bool{}
	for _, s := range f.samples("mailwatch_backup_files") {
		seen[s.labels["backup"]] = true
	}
	for _, b := range slices.Sorted(maps.Keys(seen)) {
		ts, ok := f.value("mailwatch_backup_newest_timestamp_seconds", map[string]string{"backup": b})
		if !ok {
			rows = append(rows, Row{Area: "backups", Item: b, Value: "no backup file found", Level: Crit})
			continue
		}
		age := since(now, ts)
		lvl := OK
		val := "newest " + HumanDuration(age) + " old"
		if sz, ok := f.value("mailwatch_backup_newest_size_bytes", map[string]string{"backup": b}); ok {
			val += ", " + HumanBytes(sz)
		}
		if age > th.BackupAgeCritical.D() {
			lvl = Crit
		}
		if v, ok := f.value("mailwatch_backup_verify_success", map[string]string{"backup": b}); ok && v == 0 {
			val += ", NOT READABLE"
			lvl = Crit
		}
		rows = append(rows, Row{Area: "backups", Item: b, Value: val, Level: lvl})
	}
	return rows
}

func antispamRows(f Families, th config.Thresholds, now time.Time) []Row {
	var rows []Row
	for _, s := range f.samples("mailwatch_clamav_database_build_timestamp_seconds") {
		db := s.labels["database"]
		age := since(now, s.value)
		lvl := OK
		// Only daily is rebuilt every few hours; main and bytecode are
		// legitimately weeks or months old (as in the alert rule).
		if db == "daily" && age > th.ClamAVAgeWarning.D() {
			lvl = Warn
		}
		rows = append(rows, Row{Area: "anti-spam", Item: "clamav " + db, Value: "signatures " + HumanDuration(age) + " old", Level: lvl})
	}
	for _, s := range f.samples("mailwatch_fail2ban_banned") {
		rows = append(rows, Row{Area: "anti-spam", Item: "fail2ban " + s.labels["jail"], Value: fmt.Sprintf("%.0f banned", s.value), Level: OK})
	}
	return rows
}

func systemRows(f Families) []Row {
	var rows []Row
	if ok, found := f.value("mailwatch_updates_check_success", nil); found {
		all, _ := f.value("mailwatch_updates_pending", map[string]string{"kind": "all"})
		sec, _ := f.value("mailwatch_updates_pending", map[string]string{"kind": "security"})
		r := Row{Area: "system", Item: "package updates", Value: fmt.Sprintf("%.0f pending, %.0f security", all, sec), Level: OK}
		switch {
		case ok == 0:
			r.Value, r.Level = "apt-get simulation failed", Unknown
		case sec > 0:
			r.Level = Warn
		}
		rows = append(rows, r)
	}
	if v, found := f.value("mailwatch_reboot_required", nil); found {
		r := Row{Area: "system", Item: "reboot", Value: "not required", Level: OK}
		if v == 1 {
			r.Value, r.Level = "required (/var/run/reboot-required)", Warn
		}
		rows = append(rows, r)
	}
	return rows
}

// choreRows are the chores that fail silently (issue #19): the maintenance
// window, timers and their cron-era evidence, unattended upgrades, and the
// configuration of Postfix, Dovecot and OpenDKIM.
func choreRows(f Families, now time.Time) []Row {
	var rows []Row
	if v, ok := f.value("mailwatch_maintenance_active", nil); ok {
		r := Row{Area: "system", Item: "maintenance", Value: "not in maintenance", Level: OK}
		end, set := f.value("mailwatch_maintenance_end_timestamp_seconds", nil)
		switch {
		case v == 1:
			r.Value = "IN MAINTENANCE until " + time.Unix(int64(end), 0).UTC().Format("2006-01-02 15:04 UTC") + " (" + HumanDuration(-since(now, end)) + " left); alerts inhibited"
		case set && since(now, end) > 0:
			r.Value = "window ended " + HumanDuration(since(now, end)) + " ago (mailwatchd maintenance stop removes it)"
		}
		rows = append(rows, r)
	}
	for _, s := range f.samples("mailwatch_timer_present") {
		timer := s.labels["timer"]
		if s.value == 0 {
			rows = append(rows, Row{Area: "system", Item: "timer " + timer, Value: "not installed", Level: OK})
			continue
		}
		l := map[string]string{"timer": timer}
		r := Row{Area: "system", Item: "timer " + timer, Value: "never ran", Level: OK}
		if ts, ok := f.value("mailwatch_timer_last_trigger_timestamp_seconds", l); ok {
			r.Value = "last run " + HumanDuration(since(now, ts)) + " ago"
			if res, ok := f.value("mailwatch_timer_last_result_success", l); ok {
				if res == 1 {
					r.Value += ", succeeded"
				} else {
					r.Value += ", FAILED"
					if code, ok := f.value("mailwatch_timer_last_exit_status", l); ok {
						r.Value += fmt.Sprintf(" (exit status %.0f)", code)
					}
					r.Level = Crit
				}
			}
		}
		if next, ok := f.value("mailwatch_timer_next_elapse_timestamp_seconds", l); ok {
			r.Value += ", next in " + HumanDuration(-since(now, next))
		}
		rows = append(rows, r)
	}
	if en, ok := f.value("mailwatch_updates_unattended_enabled", nil); ok {
		r := Row{Area: "system", Item: "unattended upgrades", Value: "disabled (APT::Periodic::Unattended-Upgrade)", Level: OK}
		if en == 1 {
			r.Value = "enabled, no run recorded"
			if ts, ok := f.value("mailwatch_updates_unattended_last_run_timestamp_seconds", nil); ok {
				r.Value = "enabled, last run " + HumanDuration(since(now, ts)) + " ago"
				if res, ok := f.value("mailwatch_updates_unattended_last_run_success", nil); ok && res == 0 {
					r.Value += ", FAILED (see /var/log/unattended-upgrades/unattended-upgrades.log)"
					r.Level = Warn
				}
			}
		}
		rows = append(rows, r)
	}
	for _, s := range f.samples("mailwatch_config_read_success") {
		prog := s.labels["program"]
		r := Row{Area: "system", Item: "config " + prog, Value: "could not be read", Level: Unknown}
		if s.value == 1 {
			for _, i := range f.samples("mailwatch_config_info") {
				if i.labels["program"] == prog {
					r.Value, r.Level = "hash "+i.labels["hash"], OK
				}
			}
			if ts, ok := f.value("mailwatch_config_change_timestamp_seconds", map[string]string{"program": prog}); ok {
				r.Value += ", changed " + HumanDuration(since(now, ts)) + " ago"
			}
		}
		rows = append(rows, r)
	}
	if v, ok := f.value("mailwatch_postfix_check_success", nil); ok {
		r := Row{Area: "system", Item: "postfix check", Value: "no problems", Level: OK}
		if v == 0 {
			r.Value, r.Level = "reports problems (run postfix check)", Warn
		}
		rows = append(rows, r)
	}
	return rows
}
