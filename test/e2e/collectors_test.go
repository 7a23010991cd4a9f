// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// TestCollectors runs one daemon with every collector enabled against the real stack
// (StackConfig) and checks each collector's series against what the stack really holds: the
// traffic plan, postqueue -j, openssl, the loopback DNS zone, fail2ban's database and apt-get.
// The subtests share the daemon and run in parallel.
func TestCollectors(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	fx := StackVars(t, env)
	// Ready once every collector ran once; apt-get -s takes seconds of CPU.
	d := StartDaemon(t, env, DaemonOptions{Config: StackConfig, Vars: fx.Vars, ReadyTimeout: 90 * time.Second})
	mfs := d.Metrics(t)

	for _, c := range []string{"service", "postfix_queue", "certs", "dnsbl", "mail_dns", "fail2ban", "filesystem", "mailbox", "clamav", "backup", "updates"} {
		wantValue(t, mfs, "mailwatch_collector_success", map[string]string{"collector": c}, 1)
		wantValue(t, mfs, "mailwatch_collector_target_absent", map[string]string{"collector": c}, 0)
	}

	t.Run("postfix_queue", func(t *testing.T) { t.Parallel(); testQueue(t, env, d) })
	t.Run("service", func(t *testing.T) { t.Parallel(); testService(t, mfs) })
	t.Run("certs", func(t *testing.T) { t.Parallel(); testCerts(t, env, mfs) })
	t.Run("dnsbl", func(t *testing.T) { t.Parallel(); testDNSBL(t, env, mfs) })
	t.Run("mail_dns", func(t *testing.T) { t.Parallel(); testMailDNS(t, env, mfs) })
	t.Run("fail2ban", func(t *testing.T) { t.Parallel(); testFail2ban(t, env, d) })
	t.Run("filesystem", func(t *testing.T) { t.Parallel(); testFilesystem(t, env, mfs) })
	t.Run("clamav", func(t *testing.T) { t.Parallel(); testClamAV(t, fx, mfs) })
	t.Run("backup", func(t *testing.T) { t.Parallel(); testBackup(t, fx, d) })
	t.Run("mailbox", func(t *testing.T) { t.Parallel(); testMailbox(t, env, mfs) })
	t.Run("updates", func(t *testing.T) { t.Parallel(); testUpdates(t, mfs) })
	t.Run("promtool", func(t *testing.T) {
		t.Parallel()
		if out, err := Promtool(env.Promtool, d.Scrape(t)); err != nil || out != "" {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})
	t.Run("catalogue", func(t *testing.T) { t.Parallel(); testCatalogue(t, d) })
}

// The deferred and held messages are exactly those of the traffic plan and of postqueue -j, with
// the delay reasons Postfix recorded classified, and their arrival times inside the traffic run.
func testQueue(t *testing.T, env *Env, d *Daemon) {
	deferred, hold := env.PlanInt(t, "DEFERRED_EXPECTED"), env.PlanInt(t, "HOLD_EXPECTED")
	refused := env.PlanInt(t, "DEFER") - env.PlanInt(t, "EXPIRE")
	grey := env.PlanInt(t, "GREY")
	// The provider-mapped sinks' deferrals, classified by hand in the queue's classes: Gmail's two
	// 421s and Microsoft's 451 4.7.650 say "rate limited"; Yahoo's [TSS04] names no cause the queue
	// classes know, so it is a remote 4xx.
	rateLimited, remote4xx := 3*env.PlanInt(t, "PROVIDER"), env.PlanInt(t, "PROVIDER")
	q := map[string]string{"postfix_instance": "postfix"}
	var pq QueueCounts
	// qmgr retries deferred mail now and then, moving it through the active queue for a moment:
	// compare once the daemon and postqueue agree.
	mfs := d.WaitMetrics(t, 40*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		pq = Postqueue(t)
		for queue, want := range map[string]int{"deferred": deferred, "hold": hold} {
			v, err := SampleValue(mfs, "mailwatch_postfix_queue_messages", with(q, "queue", queue))
			if err != nil {
				return err
			}
			if v != float64(want) || pq.Messages[queue] != want {
				return fmt.Errorf("%s queue: mailwatchd %g, postqueue -j %d, traffic plan %d", queue, v, pq.Messages[queue], want)
			}
		}
		return nil
	})
	if pq.Refused != refused || pq.Grey != grey {
		t.Errorf("postqueue -j: %d refused, %d greylisted; traffic plan %d, %d", pq.Refused, pq.Grey, refused, grey)
	}
	wantValue(t, mfs, "mailwatch_postfix_queue_recipients", with(q, "queue", "deferred"), float64(deferred))
	wantValue(t, mfs, "mailwatch_postfix_queue_read_success", q, 1)
	wantValue(t, mfs, "mailwatch_postfix_queue_source", with(q, "source", "showq"), 1)
	for _, queue := range []string{"maildrop", "incoming", "active", "corrupt"} {
		wantValue(t, mfs, "mailwatch_postfix_queue_messages", with(q, "queue", queue), 0)
	}
	if v, _ := SampleValue(mfs, "mailwatch_postfix_queue_size_bytes", with(q, "queue", "deferred")); v < float64(deferred*500) {
		t.Errorf("deferred queue size %g bytes, want at least 500 per message", v)
	}
	reasons := map[string]float64{"connection_refused": float64(refused), "greylisted": float64(grey),
		"timed_out": 0, "dns_failure": 0, "tls_failure": 0, "rate_limited": float64(rateLimited), "mailbox_full": 0,
		"remote_4xx": float64(remote4xx), "other": 0}
	for r, want := range reasons {
		wantValue(t, mfs, "mailwatch_postfix_queue_deferred_recipients", with(q, "reason", r), want)
	}
	started, finished := env.PlanInt(t, "STARTED"), env.PlanInt(t, "FINISHED")
	for _, queue := range []string{"deferred", "hold"} {
		v, err := SampleValue(mfs, "mailwatch_postfix_queue_oldest_message_timestamp_seconds", with(q, "queue", queue))
		if err != nil {
			t.Error(err)
		} else if v < float64(started-1) || v > float64(finished) || v > float64(time.Now().Unix()) {
			t.Errorf("oldest %s message arrived at %g, want within the traffic run [%d, %d] and not after now", queue, v, started, finished)
		}
	}
	// Top deferred destination domains: every deferred recipient is counted once.
	var sum float64
	for _, s := range Samples(mfs, "mailwatch_postfix_queue_deferred_domain_recipients") {
		sum += s.Value
	}
	if sum != float64(deferred) {
		t.Errorf("deferred recipients by domain sum to %g, want %d: %v", sum, deferred, Samples(mfs, "mailwatch_postfix_queue_deferred_domain_recipients"))
	}
	wantValue(t, mfs, "mailwatch_postfix_queue_deferred_domain_recipients", with(q, "domain", "greylist."+env.Domain), float64(grey))
}

// The five services of the stack run (process backend), with their memory; the optional ones
// the harness does not install are absent and inactive.
func testService(t *testing.T, mfs map[string]*dto.MetricFamily) {
	now := float64(time.Now().Unix())
	for _, unit := range []string{"postfix", "dovecot", "opendkim", "fail2ban", "rspamd"} {
		u := map[string]string{"unit": unit}
		wantValue(t, mfs, "mailwatch_service_present", u, 1)
		wantValue(t, mfs, "mailwatch_service_check_success", u, 1)
		for _, st := range []string{"active", "reloading", "inactive", "failed", "activating", "deactivating"} {
			want := 0.0
			if st == "active" {
				want = 1
			}
			wantValue(t, mfs, "mailwatch_service_state", with(u, "state", st), want)
		}
		if v, err := SampleValue(mfs, "mailwatch_service_memory_bytes", u); err != nil || !(v > 0) {
			t.Errorf("mailwatch_service_memory_bytes{unit=%q} = %g (%v), want > 0", unit, v, err)
		}
		if v, err := SampleValue(mfs, "mailwatch_service_start_timestamp_seconds", u); err != nil || !(v > 0 && v <= now) {
			t.Errorf("mailwatch_service_start_timestamp_seconds{unit=%q} = %g (%v), want in the past", unit, v, err)
		}
		if _, err := SampleValue(mfs, "mailwatch_service_cpu_seconds_total", u); err != nil {
			t.Error(err)
		}
	}
	for _, unit := range []string{"clamav-daemon", "clamav-freshclam", "amavis"} {
		wantValue(t, mfs, "mailwatch_service_present", map[string]string{"unit": unit}, 0)
		wantValue(t, mfs, "mailwatch_service_state", map[string]string{"unit": unit, "state": "inactive"}, 1)
	}
}

// Every TLS port serves the harness certificate: read, verified against it (self-signed) for
// the harness host name, equal to the file, and with the notAfter openssl reads from the file.
func testCerts(t *testing.T, env *Env, mfs map[string]*dto.MetricFamily) {
	notAfter := float64(CertNotAfter(t, env.CertFile).Unix())
	for _, target := range append([]string{env.CertFile}, certEndpoints...) {
		tg := map[string]string{"target": target}
		wantValue(t, mfs, "mailwatch_cert_check_success", tg, 1)
		wantValue(t, mfs, "mailwatch_cert_verify_success", tg, 1)
		wantValue(t, mfs, "mailwatch_cert_not_after_timestamp_seconds", tg, notAfter)
		if v, err := SampleValue(mfs, "mailwatch_cert_not_before_timestamp_seconds", tg); err != nil || !(v < notAfter) {
			t.Errorf("mailwatch_cert_not_before_timestamp_seconds{target=%q} = %g (%v), want before notAfter", target, v, err)
		}
		if target == env.CertFile {
			continue
		}
		wantValue(t, mfs, "mailwatch_cert_endpoint_matches_file", tg, 1)
		// Postfix and Dovecot are configured for TLS 1.2 and later.
		v12, _ := SampleValue(mfs, "mailwatch_cert_endpoint_tls_version_info", with(tg, "version", "1.2"))
		v13, _ := SampleValue(mfs, "mailwatch_cert_endpoint_tls_version_info", with(tg, "version", "1.3"))
		if v12+v13 != 1 {
			t.Errorf("%s: TLS version not 1.2 or 1.3: %v", target, Samples(mfs, "mailwatch_cert_endpoint_tls_version_info"))
		}
	}
	for _, src := range []string{"postfix", "dovecot"} {
		wantValue(t, mfs, "mailwatch_cert_discovery_success", map[string]string{"source": src}, 1)
	}
}

// The loopback DNSBL: one listed address, one answered with Spamhaus's "public resolver" code
// (an error, never a listing), one not listed.
func testDNSBL(t *testing.T, env *Env, mfs map[string]*dto.MetricFamily) {
	z := map[string]string{"zone": env.DNSBLZone}
	for _, c := range []struct {
		addr           string
		listed, answer float64
	}{{env.DNSBLListed, 1, 1}, {env.DNSBLError, 0, 0}, {env.DNSBLClean, 0, 1}} {
		wantValue(t, mfs, "mailwatch_dnsbl_listed", with(z, "target", c.addr), c.listed)
		wantValue(t, mfs, "mailwatch_dnsbl_query_success", with(z, "target", c.addr), c.answer)
	}
	if v, err := SampleValue(mfs, "mailwatch_dnsbl_query_errors_total", with(z, "reason", "public_resolver")); err != nil || v < 1 {
		t.Errorf("mailwatch_dnsbl_query_errors_total{reason=\"public_resolver\"} = %g (%v), want >= 1", v, err)
	}
	for _, s := range Samples(mfs, "mailwatch_dnsbl_query_errors_total") {
		if s.Labels["reason"] != "public_resolver" && s.Value != 0 {
			t.Errorf("unexpected DNSBL query error %v", s)
		}
	}
}

// The mail domain's records in the loopback zone are all valid, the DKIM record matches the key
// OpenDKIM signs with, and 127.0.0.1 has a forward-confirmed PTR.
func testMailDNS(t *testing.T, env *Env, mfs map[string]*dto.MetricFamily) {
	dom := map[string]string{"domain": env.Domain}
	for _, c := range []string{"mx", "spf", "dmarc", "dkim", "ptr", "fcrdns"} {
		wantValue(t, mfs, "mailwatch_dns_check_success", with(dom, "check", c), 1)
		wantValue(t, mfs, "mailwatch_dns_check_query_success", with(dom, "check", c), 1)
	}
	wantValue(t, mfs, "mailwatch_dns_dmarc_policy", with(dom, "policy", "reject"), 1)
	wantValue(t, mfs, "mailwatch_dns_spf_lookups", dom, 0) // ip4, ip6 and -all only
	// The sending address 127.0.0.1 is the record's ip4 term.
	addr := with(dom, "address", "127.0.0.1")
	wantValue(t, mfs, "mailwatch_dns_spf_result", with(addr, "result", "pass"), 1)
	wantValue(t, mfs, "mailwatch_dns_spf_result", with(addr, "result", "fail"), 0)
	// The harness publishes a TLSA 3 1 1 record of the certificate Postfix serves on port 25.
	mx := map[string]string{"mx": env.Hostname}
	wantValue(t, mfs, "mailwatch_dns_dane_query_success", mx, 1)
	wantValue(t, mfs, "mailwatch_dns_dane_tlsa_records", mx, 1)
	for _, c := range []string{"served", "file"} {
		wantValue(t, mfs, "mailwatch_dns_dane_certificate_read_success", with(mx, "certificate", c), 1)
		wantValue(t, mfs, "mailwatch_dns_dane_match", with(mx, "certificate", c), 1)
	}
	// MTA-STS: the harness policy host (mta-sts-server.py) serves an enforce policy covering the
	// MX, whose served certificate (read once with the DANE check) names it and chains to
	// mta_sts_ca_file; TLS-RPT is published. mtasts_test.go changes the policy.
	wantValue(t, mfs, "mailwatch_dns_mta_sts_policy_valid", dom, 1)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_mode", with(dom, "mode", "enforce"), 1)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_mx_covered", dom, 1)
	wantValue(t, mfs, "mailwatch_dns_tls_rpt_record_present", dom, 1)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_policy_changed_without_new_id", dom, 0)
	wantValue(t, mfs, "mailwatch_dns_mta_sts_mx_result", with(with(dom, "mx", env.Hostname), "result", "ok"), 1)
}

// The brute-forcer the traffic plan sends is banned in postfix-sasl, every jail runs, and a ban
// made while the daemon runs is counted.
func testFail2ban(t *testing.T, env *Env, d *Daemon) {
	mfs := d.Metrics(t)
	jail := map[string]string{"jail": "postfix-sasl"}
	before, err := SampleValue(mfs, "mailwatch_fail2ban_banned", jail)
	if err != nil || before < 1 {
		t.Fatalf("mailwatch_fail2ban_banned{jail=\"postfix-sasl\"} = %g (%v), want >= 1 (%s is banned)", before, err, env.Var("MWH_PLAN_SASL_ATTACKER"))
	}
	for _, j := range []string{"postfix", "postfix-sasl", "dovecot"} {
		wantValue(t, mfs, "mailwatch_fail2ban_jail_active", map[string]string{"jail": j}, 1)
		if _, err := SampleValue(mfs, "mailwatch_fail2ban_failed", map[string]string{"jail": j}); err != nil {
			t.Error(err)
		}
	}
	wantValue(t, mfs, "mailwatch_fail2ban_log_read_success", nil, 1)
	wantValue(t, mfs, "mailwatch_fail2ban_bans_total", jail, 0) // counts from the daemon's start

	// A new ban (an address no traffic uses), lifted again when the test ends.
	const addr = "127.0.0.77"
	client := func(args ...string) {
		t.Helper()
		cmd := exec.Command("fail2ban-client", append([]string{"-c", env.Var("MWH_ETC") + "/fail2ban"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("fail2ban-client %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	client("set", "postfix-sasl", "banip", addr)
	t.Cleanup(func() { client("set", "postfix-sasl", "unbanip", addr) })
	d.WaitMetrics(t, 20*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		total, err1 := SampleValue(mfs, "mailwatch_fail2ban_bans_total", jail)
		banned, err2 := SampleValue(mfs, "mailwatch_fail2ban_banned", jail)
		if total != 1 || banned != before+1 {
			return fmt.Errorf("after banning %s: bans_total %g (%v), banned %g (%v), want 1 and %g", addr, total, err1, banned, err2, before+1)
		}
		return nil
	})
}

func testFilesystem(t *testing.T, env *Env, mfs map[string]*dto.MetricFamily) {
	for _, p := range []string{env.PostfixSpool, "/var/mail", "/var/log"} {
		wantValue(t, mfs, "mailwatch_filesystem_stat_success", map[string]string{"path": p}, 1)
		wantValue(t, mfs, "mailwatch_filesystem_readonly", map[string]string{"path": p}, 0)
	}
}

func testClamAV(t *testing.T, fx Fixtures, mfs map[string]*dto.MetricFamily) {
	for _, db := range fx.ClamDBs {
		l := map[string]string{"database": db.Name}
		wantValue(t, mfs, "mailwatch_clamav_database_read_success", l, 1)
		wantValue(t, mfs, "mailwatch_clamav_database_build_timestamp_seconds", l, float64(db.Built.Unix()))
		wantValue(t, mfs, "mailwatch_clamav_database_version", l, float64(db.Version))
		wantValue(t, mfs, "mailwatch_clamav_database_signatures", l, float64(db.Signatures))
	}
}

// The backup set's newest archive is found and read back to the end in the background.
func testBackup(t *testing.T, fx Fixtures, d *Daemon) {
	b := map[string]string{"backup": "mail_backup"}
	mfs := d.WaitMetrics(t, 30*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		if v, err := SampleValue(mfs, "mailwatch_backup_verify_success", b); err != nil || v != 1 {
			return fmt.Errorf("mailwatch_backup_verify_success = %g (%v)", v, err)
		}
		return nil
	})
	wantValue(t, mfs, "mailwatch_backup_files", b, 1)
	wantValue(t, mfs, "mailwatch_backup_scan_success", b, 1)
	wantValue(t, mfs, "mailwatch_backup_newest_timestamp_seconds", b, float64(fx.Backup.ModTime.Unix()))
	wantValue(t, mfs, "mailwatch_backup_newest_size_bytes", b, float64(fx.Backup.Size))
	wantValue(t, mfs, "mailwatch_backup_verified_file_timestamp_seconds", b, float64(fx.Backup.ModTime.Unix()))
	wantValue(t, mfs, "mailwatch_backup_verified_entries", b, float64(fx.Backup.Entries))
}

// The harness users' Maildirs got the locally delivered traffic.
func testMailbox(t *testing.T, env *Env, mfs map[string]*dto.MetricFamily) {
	for _, u := range strings.Fields(env.Var("MWH_USERS")) {
		l := map[string]string{"mailbox": u}
		if v, err := SampleValue(mfs, "mailwatch_mailbox_messages", l); err != nil || !(v > 0) {
			t.Errorf("mailwatch_mailbox_messages{mailbox=%q} = %g (%v), want > 0", u, v, err)
		}
		if v, err := SampleValue(mfs, "mailwatch_mailbox_size_bytes", l); err != nil || !(v > 0) {
			t.Errorf("mailwatch_mailbox_size_bytes{mailbox=%q} = %g (%v), want > 0", u, v, err)
		}
	}
	wantValue(t, mfs, "mailwatch_mailbox_root_success", map[string]string{"root": "/home/*/Maildir"}, 1)
}

// The pending upgrades equal what apt-get itself simulates (the "Inst" lines, those from a
// security archive counted separately).
func testUpdates(t *testing.T, mfs map[string]*dto.MetricFamily) {
	out, err := exec.Command("apt-get", "-s", "-o", "Debug::NoLocking=true", "dist-upgrade").Output()
	if err != nil {
		t.Fatalf("apt-get -s dist-upgrade: %v", err)
	}
	var all, security int
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Inst ") {
			all++
			if strings.Contains(l, "-security") {
				security++
			}
		}
	}
	wantValue(t, mfs, "mailwatch_updates_check_success", nil, 1)
	wantValue(t, mfs, "mailwatch_updates_pending", map[string]string{"kind": "all"}, float64(all))
	wantValue(t, mfs, "mailwatch_updates_pending", map[string]string{"kind": "security"}, float64(security))
	wantValue(t, mfs, "mailwatch_reboot_required", nil, 0)
	if v, err := SampleValue(mfs, "mailwatch_updates_apt_lists_timestamp_seconds", nil); err != nil || !(v > 0) {
		t.Errorf("mailwatch_updates_apt_lists_timestamp_seconds = %g (%v), want the lists' time", v, err)
	}
}

// wantValue reports an error unless the series of name with labels has the value want.
func wantValue(t testing.TB, mfs map[string]*dto.MetricFamily, name string, labels map[string]string, want float64) {
	t.Helper()
	v, err := SampleValue(mfs, name, labels)
	if err != nil {
		t.Error(err)
		return
	}
	if v != want {
		t.Errorf("%s%v = %g, want %g", name, labels, v, want)
	}
}

// with returns a copy of labels with one more pair.
func with(labels map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for lk, lv := range labels {
		out[lk] = lv
	}
	out[k] = v
	return out
}

// As the unprivileged monitor user, the fail2ban collector cannot open fail2ban's root-only
// database; with the ACL that deploy/systemd/mailwatchd.tmpfiles documents (applied here by
// systemd-tmpfiles for the monitor user, and removed again afterwards) it reads the bans.
func TestFail2banAsMonitorUserWithACL(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	d := StartDaemon(t, env, DaemonOptions{User: env.MonitorUser, Config: OnlyConfig(map[string]string{"fail2ban": fail2banSection})})
	f2b := map[string]string{"collector": "fail2ban"}
	mfs := d.WaitMetrics(t, 15*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		if v, err := SampleValue(mfs, "mailwatch_collector_runs_total", f2b); err != nil || v < 1 {
			return fmt.Errorf("fail2ban collector has not run: %g %v", v, err)
		}
		return nil
	})
	wantValue(t, mfs, "mailwatch_collector_success", f2b, 0)

	env.GrantTmpfilesACL(t, env.MonitorUser, env.Fail2banDB)
	d.WaitMetrics(t, 20*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		ok, err := SampleValue(mfs, "mailwatch_collector_success", f2b)
		if err != nil || ok != 1 {
			return fmt.Errorf("mailwatch_collector_success{collector=\"fail2ban\"} = %g (%v)", ok, err)
		}
		if v, err := SampleValue(mfs, "mailwatch_fail2ban_banned", map[string]string{"jail": "postfix-sasl"}); err != nil || v < 1 {
			return fmt.Errorf("mailwatch_fail2ban_banned{jail=\"postfix-sasl\"} = %g (%v), want >= 1", v, err)
		}
		if v, err := SampleValue(mfs, "mailwatch_fail2ban_log_read_success", nil); err != nil || v != 1 {
			return fmt.Errorf("mailwatch_fail2ban_log_read_success = %g (%v): group adm reads the log", v, err)
		}
		return nil
	})
}
