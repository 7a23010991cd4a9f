// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package check

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mailwatchd/mailwatchd/internal/config"
)

var now = time.Unix(1_800_000_000, 0)

func families(t *testing.T, text string) Families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	out := Families{}
	for name, mf := range mfs {
		out[name] = mf
	}
	return out
}

func thresholds() config.Thresholds {
	var th config.Thresholds
	th.ApplyDefaults()
	return th
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	in := `
mailwatch_service_present{unit="postfix@-.service"} 1
mailwatch_service_present{unit="dovecot.service"} 1
mailwatch_service_present{unit="rspamd.service"} 0
mailwatch_service_state{unit="postfix@-.service",state="active"} 1
mailwatch_service_state{unit="postfix@-.service",state="failed"} 0
mailwatch_service_state{unit="dovecot.service",state="active"} 0
mailwatch_service_state{unit="dovecot.service",state="failed"} 1
mailwatch_postfix_queue_messages{postfix_instance="postfix",queue="active"} 2
mailwatch_postfix_queue_messages{postfix_instance="postfix",queue="deferred"} 410
mailwatch_postfix_queue_messages{postfix_instance="postfix",queue="corrupt"} 1000
mailwatch_postfix_queue_oldest_message_timestamp_seconds{postfix_instance="postfix",queue="deferred"} 1799989200
mailwatch_filesystem_stat_success{path="/var/mail"} 1
mailwatch_filesystem_size_bytes{path="/var/mail",mountpoint="/"} 1000
mailwatch_filesystem_avail_bytes{path="/var/mail",mountpoint="/"} 150
mailwatch_filesystem_files{path="/var/mail",mountpoint="/"} 100
mailwatch_filesystem_files_free{path="/var/mail",mountpoint="/"} 90
mailwatch_filesystem_readonly{path="/var/mail",mountpoint="/"} 0
mailwatch_filesystem_stat_success{path="/nfs"} 0
mailwatch_cert_check_success{target="smtp://127.0.0.1:25"} 1
mailwatch_cert_not_after_timestamp_seconds{target="smtp://127.0.0.1:25"} 1800864000
mailwatch_cert_verify_success{target="smtp://127.0.0.1:25"} 1
mailwatch_cert_endpoint_matches_file{target="smtp://127.0.0.1:25"} 0
mailwatch_cert_check_success{target="/etc/ssl/old.pem"} 1
mailwatch_cert_not_after_timestamp_seconds{target="/etc/ssl/old.pem"} 1799913600
mailwatch_dnsbl_query_success{target="192.0.2.1",zone="zen.example"} 1
mailwatch_dnsbl_listed{target="192.0.2.1",zone="zen.example"} 1
mailwatch_dnsbl_query_success{target="192.0.2.1",zone="bl.example"} 1
mailwatch_dnsbl_listed{target="192.0.2.1",zone="bl.example"} 0
mailwatch_dns_check_success{domain="example.test",check="mx"} 1
mailwatch_dns_check_success{domain="example.test",check="spf"} 0
mailwatch_backup_files{backup="nightly"} 3
mailwatch_backup_newest_timestamp_seconds{backup="nightly"} 1799900000
mailwatch_backup_newest_size_bytes{backup="nightly"} 1048576
mailwatch_backup_verify_success{backup="nightly"} 1
mailwatch_clamav_database_build_timestamp_seconds{database="daily"} 1799500000
mailwatch_clamav_database_build_timestamp_seconds{database="main"} 1790000000
mailwatch_log_last_line_timestamp_seconds{source="mail"} 1799999990
mailwatch_log_events_total{event="sasl_auth_failure"} 7
mailwatch_updates_check_success 1
mailwatch_updates_pending{kind="all"} 12
mailwatch_updates_pending{kind="security"} 3
mailwatch_reboot_required 0
`
	rows := Evaluate(families(t, in), []CollectorStatus{
		{Name: "filesystem", Success: true},
		{Name: "clamav", Success: false, Error: "no databases: not present on this host"},
		{Name: "service", Success: false, Error: "dial dbus: refused\nstack"},
	}, thresholds(), now)
	want := []Row{
		{"collectors", "clamav", "not present on this host", OK},
		{"collectors", "service", "dial dbus: refused", Warn},
		{"services", "dovecot.service", "failed", Crit},
		{"services", "postfix@-.service", "active", OK},
		{"services", "rspamd.service", "not installed", OK},
		{"queue", "postfix queue", "412 queued, 410 deferred, oldest 3 h", Warn},
		{"storage", "/nfs", "cannot measure (absent or hung)", Unknown},
		{"storage", "/var/mail", "15 % free (150 B), inodes 90 % free", Warn},
		{"certificates", "/etc/ssl/old.pem", "EXPIRED 24 h ago", Crit},
		{"certificates", "smtp://127.0.0.1:25", "expires in 10 days, serves a different certificate than its file (reload needed?)", Warn},
		{"blacklists", "192.0.2.1", "LISTED on zen.example", Crit},
		{"dns", "example.test", "failing: spf", Warn},
		{"logs", "errors seen", "7 auth failures, 0 TLS problems, 0 DKIM key errors", OK},
		{"logs", "mail", "last line 10 s ago", OK},
		{"backups", "nightly", "newest 27 h old, 1.0 MiB", Crit},
		{"anti-spam", "clamav daily", "signatures 5 days old", Warn},
		{"anti-spam", "clamav main", "signatures 115 days old", OK},
		{"system", "package updates", "12 pending, 3 security", Warn},
		{"system", "reboot", "not required", OK},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if got := Exit(rows); got != 2 {
		t.Errorf("exit = %d, want 2", got)
	}
}

func TestExit(t *testing.T) {
	t.Parallel()
	r := func(l ...Level) []Row {
		var out []Row
		for _, x := range l {
			out = append(out, Row{Level: x})
		}
		return out
	}
	tests := []struct {
		rows []Row
		want int
	}{
		{nil, 0}, {r(OK, OK), 0}, {r(OK, Warn), 1}, {r(Warn, Unknown), 3}, {r(Unknown, Crit, Warn), 2},
	}
	for _, tc := range tests {
		if got := Exit(tc.rows); got != tc.want {
			t.Errorf("Exit(%v) = %d, want %d", tc.rows, got, tc.want)
		}
	}
}

func TestHumanUnits(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		23 * 24 * time.Hour: "23 days", 3*time.Hour + 5*time.Minute: "3 h", 12 * time.Minute: "12 min", 40 * time.Second: "40 s", -50 * time.Hour: "2 days ago",
	} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for b, want := range map[float64]string{512: "512 B", 1536: "1.5 KiB", 3 << 30: "3.0 GiB"} {
		if got := HumanBytes(b); got != want {
			t.Errorf("HumanBytes(%v) = %q, want %q", b, got, want)
		}
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	rows := []Row{{"services", "dovecot.service", "failed", Crit}, {"storage", "/var/mail", "81 % free", OK}}
	var b bytes.Buffer
	if err := Table(&b, rows, false); err != nil {
		t.Fatal(err)
	}
	want := "AREA      ITEM             STATUS  VALUE\n" +
		"services  dovecot.service  CRIT    failed\n" +
		"storage   /var/mail        OK      81 % free\n" +
		"CRIT: 1 critical, 0 warning, 0 unknown, 1 ok - dovecot.service failed\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	b.Reset()
	if err := Table(&b, rows, true); err != nil || !strings.Contains(b.String(), "\x1b[31;1mCRIT") {
		t.Errorf("colour table lacks red CRIT: %q", b.String())
	}
	b.Reset()
	if err := JSON(&b, rows); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Status string
		Rows   []map[string]string
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil || doc.Status != "CRIT" || len(doc.Rows) != 2 || doc.Rows[0]["status"] != "CRIT" {
		t.Errorf("json: %v %+v", err, doc)
	}
}

// Blacklist rows count zones in words a reader expects ("1 zone").
func TestBlacklistRowsCountZones(t *testing.T) {
	t.Parallel()
	in := `
mailwatch_dnsbl_query_success{target="192.0.2.1",zone="a.example"} 1
mailwatch_dnsbl_listed{target="192.0.2.1",zone="a.example"} 0
mailwatch_dnsbl_query_success{target="192.0.2.2",zone="a.example"} 1
mailwatch_dnsbl_listed{target="192.0.2.2",zone="a.example"} 0
mailwatch_dnsbl_query_success{target="192.0.2.2",zone="b.example"} 1
mailwatch_dnsbl_listed{target="192.0.2.2",zone="b.example"} 0
mailwatch_dnsbl_query_success{target="192.0.2.3",zone="a.example"} 1
mailwatch_dnsbl_listed{target="192.0.2.3",zone="a.example"} 0
mailwatch_dnsbl_query_success{target="192.0.2.3",zone="b.example"} 0
mailwatch_dnsbl_listed{target="192.0.2.3",zone="b.example"} 0
mailwatch_dnsbl_query_success{target="192.0.2.4",zone="a.example"} 0
mailwatch_dnsbl_listed{target="192.0.2.4",zone="a.example"} 0
`
	want := []Row{
		{"blacklists", "192.0.2.1", "not listed on 1 zone", OK},
		{"blacklists", "192.0.2.2", "not listed on 2 zones", OK},
		{"blacklists", "192.0.2.3", "not listed on 1 zone, 1 could not be queried", Warn},
		{"blacklists", "192.0.2.4", "could not be queried on 1 zone", Unknown},
	}
	if diff := cmp.Diff(want, Evaluate(families(t, in), nil, thresholds(), now)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// DNS rows count each sending address's SPF result: pass is a passing
// check, temperror (no answer) neither, anything else a failure.
func TestDNSRowsSPFResults(t *testing.T) {
	t.Parallel()
	in := `
mailwatch_dns_check_success{domain="a.test",check="spf"} 1
mailwatch_dns_spf_result{domain="a.test",address="192.0.2.1",result="pass"} 1
mailwatch_dns_spf_result{domain="a.test",address="192.0.2.1",result="fail"} 0
mailwatch_dns_spf_result{domain="a.test",address="192.0.2.2",result="pass"} 0
mailwatch_dns_spf_result{domain="a.test",address="192.0.2.2",result="temperror"} 1
mailwatch_dns_check_success{domain="b.test",check="spf"} 1
mailwatch_dns_spf_result{domain="b.test",address="2001:db8::1",result="pass"} 0
mailwatch_dns_spf_result{domain="b.test",address="2001:db8::1",result="softfail"} 1
`
	want := []Row{
		{"dns", "a.test", "2 checks pass", OK},
		{"dns", "b.test", "failing: spf 2001:db8::1 softfail", Warn},
	}
	if diff := cmp.Diff(want, Evaluate(families(t, in), nil, thresholds(), now)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// DANE rows: a certificate no TLSA record matches is critical (the served
// one already breaks DANE senders, the file one will at the next reload);
// MTA-STS problems join the domain's failing checks.
func TestDNSRowsDANEAndMTASTS(t *testing.T) {
	t.Parallel()
	in := `
mailwatch_dns_mta_sts_policy_valid{domain="a.test"} 1
mailwatch_dns_mta_sts_mx_covered{domain="a.test"} 1
mailwatch_dns_mta_sts_policy_valid{domain="b.test"} 1
mailwatch_dns_mta_sts_mx_covered{domain="b.test"} 0
mailwatch_dns_mta_sts_policy_valid{domain="c.test"} 0
mailwatch_dns_mta_sts_mx_covered{domain="c.test"} 0
mailwatch_dns_dane_query_success{mx="mx1.test"} 1
mailwatch_dns_dane_tlsa_records{mx="mx1.test"} 1
mailwatch_dns_dane_certificate_read_success{mx="mx1.test",certificate="served"} 1
mailwatch_dns_dane_match{mx="mx1.test",certificate="served"} 1
mailwatch_dns_dane_certificate_read_success{mx="mx1.test",certificate="file"} 1
mailwatch_dns_dane_match{mx="mx1.test",certificate="file"} 1
mailwatch_dns_dane_query_success{mx="mx2.test"} 1
mailwatch_dns_dane_tlsa_records{mx="mx2.test"} 1
mailwatch_dns_dane_certificate_read_success{mx="mx2.test",certificate="served"} 1
mailwatch_dns_dane_match{mx="mx2.test",certificate="served"} 1
mailwatch_dns_dane_certificate_read_success{mx="mx2.test",certificate="file"} 1
mailwatch_dns_dane_match{mx="mx2.test",certificate="file"} 0
mailwatch_dns_dane_query_success{mx="mx3.test"} 1
mailwatch_dns_dane_tlsa_records{mx="mx3.test"} 0
mailwatch_dns_dane_query_success{mx="mx4.test"} 0
`
	want := []Row{
		// check orders the rows of an area by item.
		{"dns", "DANE mx1.test", "TLSA matches served and file certificate", OK},
		{"dns", "DANE mx2.test", "no TLSA record matches the file certificate", Crit},
		{"dns", "DANE mx3.test", "no usable TLSA record", Warn},
		{"dns", "DANE mx4.test", "TLSA query not answered", Unknown},
		{"dns", "a.test", "1 checks pass", OK},
		{"dns", "b.test", "failing: mta-sts mx not covered", Warn},
		{"dns", "c.test", "failing: mta-sts policy", Warn},
	}
	if diff := cmp.Diff(want, Evaluate(families(t, in), nil, thresholds(), now)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// The MX hosts of an MTA-STS domain as an enforcing sender judges them: each
// failing one named with its reason, the uncovered one by name instead of
// the domain-wide "mx not covered"; mode none (no MX series) passes on the
// policy alone; a policy changed under the same id fails.
func TestDNSRowsMTASTSMX(t *testing.T) {
	t.Parallel()
	in := `
mailwatch_dns_mta_sts_policy_valid{domain="a.test"} 1
mailwatch_dns_mta_sts_mx_covered{domain="a.test"} 1
mailwatch_dns_mta_sts_mx_result{domain="a.test",mx="mx1.a.test",result="ok"} 1
mailwatch_dns_mta_sts_mx_result{domain="a.test",mx="mx1.a.test",result="certificate_expired"} 0
mailwatch_dns_mta_sts_mx_result{domain="a.test",mx="mx2.a.test",result="ok"} 1
mailwatch_dns_mta_sts_policy_valid{domain="b.test"} 1
mailwatch_dns_mta_sts_mx_covered{domain="b.test"} 0
mailwatch_dns_mta_sts_mx_result{domain="b.test",mx="mx.b.test",result="ok"} 0
mailwatch_dns_mta_sts_mx_result{domain="b.test",mx="mx.b.test",result="certificate_expired"} 1
mailwatch_dns_mta_sts_mx_result{domain="b.test",mx="backup.c.test",result="ok"} 0
mailwatch_dns_mta_sts_mx_result{domain="b.test",mx="backup.c.test",result="not_covered"} 1
mailwatch_dns_mta_sts_policy_valid{domain="c.test"} 1
mailwatch_dns_mta_sts_mx_covered{domain="c.test"} 1
mailwatch_dns_mta_sts_mx_result{domain="c.test",mx="mx.c.test",result="certificate_host_mismatch"} 1
mailwatch_dns_mta_sts_mx_result{domain="c.test",mx="mx2.c.test",result="unreachable"} 1
mailwatch_dns_mta_sts_mx_result{domain="c.test",mx="mx3.c.test",result="starttls_not_supported"} 1
mailwatch_dns_mta_sts_mx_result{domain="c.test",mx="mx4.c.test",result="certificate_not_trusted"} 1
mailwatch_dns_mta_sts_policy_valid{domain="none.test"} 1
mailwatch_dns_mta_sts_mx_covered{domain="none.test"} 1
mailwatch_dns_mta_sts_policy_changed_without_new_id{domain="none.test"} 0
mailwatch_dns_mta_sts_policy_valid{domain="stale.test"} 1
mailwatch_dns_mta_sts_mx_covered{domain="stale.test"} 1
mailwatch_dns_mta_sts_policy_changed_without_new_id{domain="stale.test"} 1
mailwatch_dns_mta_sts_mx_result{domain="stale.test",mx="mx.stale.test",result="ok"} 1
`
	want := []Row{
		{"dns", "a.test", "1 checks pass", OK},
		{"dns", "b.test", "failing: mta-sts backup.c.test: matches no mx pattern of the policy, mta-sts mx.b.test: certificate expired", Warn},
		{"dns", "c.test", "failing: mta-sts mx.c.test: certificate does not name it, mta-sts mx2.c.test: port 25 unreachable, certificate not checked, " +
			"mta-sts mx3.c.test: no STARTTLS on port 25, mta-sts mx4.c.test: certificate not trusted", Warn},
		{"dns", "none.test", "1 checks pass", OK},
		{"dns", "stale.test", "failing: mta-sts policy changed, id not", Warn},
	}
	if diff := cmp.Diff(want, Evaluate(families(t, in), nil, thresholds(), now)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// The status page's order: CRIT, UNKNOWN, WARN, OK, each in check's order.
func TestSortWorstFirst(t *testing.T) {
	t.Parallel()
	rows := []Row{
		{"storage", "/var/mail", "", OK}, {"services", "postfix", "", OK}, {"backups", "b", "", Warn},
		{"storage", "/srv", "", Unknown}, {"services", "dovecot", "", Crit}, {"queue", "postfix queue", "", Warn},
	}
	SortWorstFirst(rows)
	var got []string
	for _, r := range rows {
		got = append(got, r.Level.String()+" "+r.Item)
	}
	want := []string{"CRIT dovecot", "UNKNOWN /srv", "WARN postfix queue", "WARN b", "OK postfix", "OK /var/mail"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	for l, c := range map[Level]string{OK: "\x1b[32m", Warn: "\x1b[33m", Crit: "\x1b[31;1m", Unknown: "\x1b[35m"} {
		if got := colorize(l, "x"); !strings.HasPrefix(got, c) {
			t.Errorf("%s in the terminal: %q, want %q (the colour %s)", l, got, c, Color(l))
		}
	}
}

func TestChoreRows(t *testing.T) {
	t.Parallel()
	in := `
mailwatch_maintenance_active 1
mailwatch_maintenance_end_timestamp_seconds 1800007200
mailwatch_timer_present{timer="certbot.timer"} 1
mailwatch_timer_last_trigger_timestamp_seconds{timer="certbot.timer"} 1799996400
mailwatch_timer_last_result_success{timer="certbot.timer"} 0
mailwatch_timer_last_exit_status{timer="certbot.timer"} 1
mailwatch_timer_next_elapse_timestamp_seconds{timer="certbot.timer"} 1800036000
mailwatch_timer_present{timer="logrotate.timer"} 1
mailwatch_timer_last_trigger_timestamp_seconds{timer="logrotate.timer"} 1799913600
mailwatch_timer_last_result_success{timer="logrotate.timer"} 1
mailwatch_timer_present{timer="backup.timer"} 0
mailwatch_updates_unattended_enabled 1
mailwatch_updates_unattended_last_run_timestamp_seconds 1799971200
mailwatch_updates_unattended_last_run_success 0
mailwatch_config_read_success{program="postfix"} 1
mailwatch_config_info{program="postfix",hash="0123456789ab"} 1
mailwatch_config_change_timestamp_seconds{program="postfix"} 1799827200
mailwatch_config_read_success{program="dovecot"} 0
mailwatch_postfix_check_success 0
`
	want := []Row{
		{"system", "config dovecot", "could not be read", Unknown},
		{"system", "config postfix", "hash 0123456789ab, changed 2 days ago", OK},
		{"system", "maintenance", "IN MAINTENANCE until 2027-01-15 10:00 UTC (2 h left); alerts inhibited", OK},
		{"system", "postfix check", "reports problems (run postfix check)", Warn},
		{"system", "timer backup.timer", "not installed", OK},
		{"system", "timer certbot.timer", "last run 60 min ago, FAILED (exit status 1), next in 10 h", Crit},
		{"system", "timer logrotate.timer", "last run 24 h ago, succeeded", OK},
		{"system", "unattended upgrades", "enabled, last run 8 h ago, FAILED (see /var/log/unattended-upgrades/unattended-upgrades.log)", Warn},
	}
	got := Evaluate(families(t, in), nil, thresholds(), now)
	slices.SortFunc(got, func(a, b Row) int { return strings.Compare(a.Item, b.Item) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ in, want string }{
		{"mailwatch_maintenance_active 0\n", "not in maintenance"},
		{"mailwatch_maintenance_active 0\nmailwatch_maintenance_end_timestamp_seconds 1799996400\n", "window ended 60 min ago (mailwatchd maintenance stop removes it)"},
	} {
		rows := Evaluate(families(t, tc.in), nil, thresholds(), now)
		if len(rows) != 1 || rows[0].Value != tc.want || rows[0].Level != OK {
			t.Errorf("%q: %+v, want %q", tc.in, rows, tc.want)
		}
	}
}
