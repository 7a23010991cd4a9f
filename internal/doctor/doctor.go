// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package doctor audits a host's mailwatchd setup for a human: can this
// user read what the configuration points at (logs, the showq socket,
// certificates, fail2ban's database, the journal), are the configured units
// there, is something installed that is not watched, is the unit hardened.
// Every finding that is not OK says what to change. It reads and connects
// locally only; it never changes anything.
package doctor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors/maintenance"
	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/logparse"
	"github.com/mailwatchd/mailwatchd/internal/logparse/follow"
)

// Status of a finding.
type Status string

// Statuses, from good to bad.
const (
	OK   Status = "ok"
	Info Status = "info"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Finding is one line of the audit.
type Finding struct {
	Area   string `json:"area"`
	Status Status `json:"status"`
	What   string `json:"what"`
	Fix    string `json:"fix,omitempty"`
}

// Host is what the audit may look at; tests point it at temporary trees.
type Host struct {
	// Root prefixes every absolute path probed for installed software and
	// unit files ("" for /). Configured paths are used as they are.
	Root string
	// User is the account the daemon runs as (the current one by default).
	User *user.User
	// Groups are the names of the groups the current process has.
	Groups map[string]bool
	// Uid of the current process (0: root).
	UID int
	// LookPath finds a program (exec.LookPath by default).
	LookPath func(string) (string, error)
	// Dial connects to a local port (net.DialTimeout by default); only
	// loopback addresses are ever dialled.
	Dial func(network, addr string, timeout time.Duration) (net.Conn, error)
	// Inotify tells whether a file source's patterns can be watched
	// (follow.CheckInotify by default; nil skips the check).
	Inotify func(patterns []string) (covered bool, err error)
}

// CurrentHost describes the running process.
func CurrentHost() Host {
	h := Host{UID: os.Getuid(), Groups: map[string]bool{}, LookPath: exec.LookPath, Dial: net.DialTimeout,
		Inotify: follow.CheckInotify}
	if u, err := user.Current(); err == nil {
		h.User = u
	}
	if gids, err := os.Getgroups(); err == nil {
		for _, g := range append(gids, os.Getgid()) {
			if gr, err := user.LookupGroupId(strconv.Itoa(g)); err == nil {
				h.Groups[gr.Name] = true
			}
		}
	}
	return h
}

func (h Host) path(p string) string { return filepath.Join(h.Root, p) }

func (h Host) exists(p string) bool {
	_, err := os.Stat(h.path(p))
	return err == nil
}

func (h Host) userName() string {
	if h.User != nil {
		return h.User.Username
	}
	return strconv.Itoa(h.UID)
}

// Audit runs every check against cfg.
func Audit(cfg *config.Config, h Host) []Finding {
	var out []Finding
	out = append(out, identity(h)...)
	out = append(out, stateDir(cfg, h)...)
	out = append(out, logSources(cfg, h)...)
	out = append(out, queue(cfg, h)...)
	out = append(out, services(cfg, h)...)
	out = append(out, certFiles(cfg, h)...)
	out = append(out, fail2banDB(cfg, h)...)
	out = append(out, unwatched(cfg, h)...)
	out = append(out, dnsChecks(cfg)...)
	out = append(out, unitHardening(h)...)
	out = append(out, saturation(cfg, h)...)
	out = append(out, chores(cfg, h)...)
	out = append(out, roundTrip(cfg, h)...)
	return out
}

// chores says what the watch on the chores that fail silently needs
// (issue #19): certbot's log without systemd, unattended-upgrades' log,
// root for postfix check.
func chores(cfg *config.Config, h Host) []Finding {
	var out []Finding
	sc := cfg.Collectors.Service
	if sc.IsEnabled() && len(sc.Timers) > 0 {
		if h.exists("/run/systemd/system") && sc.Backend != "process" {
			out = append(out, Finding{Area: "chores", Status: OK, What: "timers " + strings.Join(sc.Timers, ", ") + " are read over D-Bus (no privilege needed)"})
		} else if slices.Contains(sc.Timers, "certbot.timer") {
			if _, err := os.ReadDir(sc.CertbotLogDir); err == nil {
				out = append(out, Finding{Area: "chores", Status: OK, What: "without systemd, certbot.timer is read from " + sc.CertbotLogDir})
			} else if errors.Is(err, fs.ErrPermission) {
				out = append(out, Finding{Area: "chores", Status: Warn, What: "without systemd, certbot.timer comes from certbot's log, but " + sc.CertbotLogDir + " is not readable (certbot makes it root-only)",
					Fix: "setfacl -m u:" + h.userName() + ":rx " + sc.CertbotLogDir + " (and -d -m u:" + h.userName() + ":r for the logs certbot creates), or remove certbot.timer from collectors.service.timers"})
			}
		}
	}
	uc := cfg.Collectors.Updates
	if uc.IsEnabled() {
		if err := canRead(uc.UnattendedLog); errors.Is(err, fs.ErrPermission) {
			f := Finding{Area: "chores", Status: Warn, What: "cannot read " + uc.UnattendedLog + ": the result of unattended upgrades is unknown"}
			f.Fix = groupFix(uc.UnattendedLog, h)
			out = append(out, f)
		}
	}
	dc := cfg.Collectors.ConfigDrift
	if dc.IsEnabled() && dc.PostfixCheck != "off" && h.UID != 0 && h.exists("/usr/sbin/postfix") {
		out = append(out, Finding{Area: "chores", Status: Info, What: "postfix check runs only as root: as " + h.userName() + ", mailwatch_postfix_check_success is not exported (the configuration hashes are)"})
	}
	if st, err := maintenanceState(cfg.Global.StateDir); err != nil {
		out = append(out, Finding{Area: "chores", Status: Fail, What: err.Error(), Fix: "mailwatchd maintenance stop removes it"})
	} else if st != "" {
		out = append(out, Finding{Area: "chores", Status: Info, What: st})
	}
	return out
}

func identity(h Host) []Finding {
	if h.UID == 0 {
		return []Finding{{Area: "identity", Status: Info, What: "running as root: every file is readable, so this audit cannot show permission problems of the daemon's user",
			Fix: "run it as the daemon's user: sudo -u mailwatchd mailwatchd doctor"}}
	}
	var gs []string
	for g := range h.Groups {
		gs = append(gs, g)
	}
	sort.Strings(gs)
	return []Finding{{Area: "identity", Status: Info, What: fmt.Sprintf("running as %s, groups %s", h.userName(), strings.Join(gs, " "))}}
}

func stateDir(cfg *config.Config, h Host) []Finding {
	dir := cfg.Global.StateDir
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return []Finding{{Area: "state", Status: Warn, What: "state directory " + dir + " does not exist: saved log positions are lost at every restart",
			Fix: "create it for the daemon's user (the systemd unit's StateDirectory= does): install -d -o mailwatchd -m 0750 " + dir}}
	case err != nil:
		return []Finding{{Area: "state", Status: Warn, What: "state directory " + dir + ": " + err.Error()}}
	case !st.IsDir():
		return []Finding{{Area: "state", Status: Fail, What: dir + " is not a directory", Fix: "point global.state_dir at a directory"}}
	}
	f, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		return []Finding{{Area: "state", Status: Warn, What: "cannot write to state directory " + dir + ": " + shortErr(err),
			Fix: "make it writable for " + h.userName() + ": chown " + h.userName() + " " + dir}}
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return []Finding{{Area: "state", Status: OK, What: "state directory " + dir + " is writable"}}
}

// groupFix names the group whose membership would open path, if its group
// can read it.
func groupFix(path string, h Host) string {
	st, err := os.Stat(path)
	if err != nil {
		// A missing permission on a directory on the way: try the parent.
		dir := filepath.Dir(path)
		if dir == path {
			return ""
		}
		return groupFix(dir, h)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || st.Mode().Perm()&0o040 == 0 {
		return ""
	}
	g, err := user.LookupGroupId(strconv.FormatUint(uint64(sys.Gid), 10))
	if err != nil || h.Groups[g.Name] {
		return ""
	}
	return fmt.Sprintf("add %s to group %s (usermod -aG %s %s, or SupplementaryGroups=%s in the unit) and restart it", h.userName(), g.Name, g.Name, h.userName(), g.Name)
}

func canRead(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Read(make([]byte, 1))
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func logSources(cfg *config.Config, h Host) []Finding {
	var out []Finding
	journalUsed := false
	for _, src := range cfg.Logs.Sources {
		if src.Type == logparse.SourceJournal {
			journalUsed = true
			out = append(out, journalAccess(src.Name, h))
			continue
		}
		for _, p := range src.Paths {
			out = append(out, logFile(src.Name, p, h)...)
		}
		if h.Inotify != nil {
			out = append(out, inotifyWatch(src.Name, src.Paths, h))
		}
	}
	if !journalUsed && h.exists("/run/systemd/journal/socket") && !h.exists("/var/log/mail.log") && !h.exists("/usr/sbin/rsyslogd") {
		out = append(out, Finding{Area: "logs", Status: Fail, What: "no /var/log/mail.log and no rsyslog: on Debian 12 mail is then logged to the journal only, and no journal source is configured",
			Fix: "add a journal source: logs.sources: [{name: mail, type: journal, units: [postfix@-.service, dovecot.service, opendkim.service]}] (or install rsyslog)"})
	}
	return out
}

func logFile(name, pattern string, h Host) []Finding {
	paths := []string{pattern}
	if strings.ContainsAny(pattern, "*?[") {
		m, _ := filepath.Glob(pattern)
		if len(m) == 0 {
			return []Finding{{Area: "logs", Status: Warn, What: fmt.Sprintf("source %s: %s matches no file yet", name, pattern)}}
		}
		paths = m
	}
	var out []Finding
	for _, p := range paths {
		err := canRead(p)
		switch {
		case err == nil:
			out = append(out, Finding{Area: "logs", Status: OK, What: fmt.Sprintf("source %s: can read %s", name, p)})
		case errors.Is(err, fs.ErrNotExist):
			f := Finding{Area: "logs", Status: Warn, What: fmt.Sprintf("source %s: %s does not exist (it is followed once it appears)", name, p)}
			if p == logparse.DefaultMailLog && h.exists("/run/systemd/journal/socket") && !h.exists("/usr/sbin/rsyslogd") {
				f.Status = Fail
				f.Fix = "Debian 12 without rsyslog logs mail to the journal only: add a journal source (type: journal, units: [postfix@-.service, dovecot.service, opendkim.service]) or install rsyslog"
			}
			out = append(out, f)
		case errors.Is(err, fs.ErrPermission):
			fix := groupFix(p, h)
			if fix == "" {
				fix = "grant " + h.userName() + " read access, e.g. setfacl -m u:" + h.userName() + ":r " + p
			}
			out = append(out, Finding{Area: "logs", Status: Fail, What: fmt.Sprintf("source %s: cannot read %s (permission denied)", name, p), Fix: fix})
		default:
			out = append(out, Finding{Area: "logs", Status: Fail, What: fmt.Sprintf("source %s: %s: %s", name, p, shortErr(err))})
		}
	}
	return out
}

// inotifyWatch says whether a file source is woken by inotify, or polls.
func inotifyWatch(name string, patterns []string, h Host) Finding {
	covered, err := h.Inotify(patterns)
	switch {
	case err != nil:
		return Finding{Area: "logs", Status: Warn,
			What: fmt.Sprintf("source %s: cannot watch its files with inotify (%s): it polls them, and a line is counted up to 1s late", name, shortErr(err)),
			Fix:  "raise the limit: sysctl fs.inotify.max_user_watches / fs.inotify.max_user_instances (in /etc/sysctl.d/)"}
	case !covered:
		return Finding{Area: "logs", Status: Info,
			What: fmt.Sprintf("source %s: some of its files or directories cannot be watched with inotify (missing, on a network filesystem, or a pattern in a directory name): changes there are found by polling, up to 1s late", name)}
	}
	return Finding{Area: "logs", Status: OK, What: fmt.Sprintf("source %s: its files are watched with inotify", name)}
}

func journalAccess(name string, h Host) Finding {
	if _, err := h.LookPath("journalctl"); err != nil {
		return Finding{Area: "logs", Status: Fail, What: "source " + name + ": journal source configured but journalctl is not installed", Fix: "apt install systemd"}
	}
	if h.UID == 0 || h.Groups["systemd-journal"] || h.Groups["adm"] {
		return Finding{Area: "logs", Status: OK, What: "source " + name + ": may read the system journal"}
	}
	return Finding{Area: "logs", Status: Fail, What: "source " + name + ": " + h.userName() + " may only read its own journal entries",
		Fix: "add " + h.userName() + " to group systemd-journal (SupplementaryGroups=systemd-journal in the unit)"}
}

func queue(cfg *config.Config, h Host) []Finding {
	pq := cfg.Collectors.PostfixQueue
	if !pq.IsEnabled() {
		if h.exists("/usr/sbin/postfix") {
			return []Finding{{Area: "queue", Status: Warn, What: "Postfix is installed but the postfix_queue collector is disabled", Fix: "set collectors.postfix_queue.enabled: true"}}
		}
		return nil
	}
	var out []Finding
	for _, sp := range pq.Spools {
		sock := filepath.Join(sp.Path, "public", "showq")
		c, err := net.DialTimeout("unix", sock, 2*time.Second)
		switch {
		case err == nil:
			c.Close()
			out = append(out, Finding{Area: "queue", Status: OK, What: "can connect to " + sock})
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT):
			out = append(out, Finding{Area: "queue", Status: Warn, What: sock + " does not exist: Postfix is not installed or not running here"})
		case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES):
			fix := groupFix(sock, h)
			if fix == "" {
				fix = "add " + h.userName() + " to group postdrop (SupplementaryGroups=postdrop in the unit)"
			}
			out = append(out, Finding{Area: "queue", Status: Fail, What: "cannot connect to " + sock + " (permission denied)", Fix: fix})
		default:
			out = append(out, Finding{Area: "queue", Status: Warn, What: sock + ": " + shortErr(err) + " (is Postfix running?)"})
		}
	}
	return out
}

func services(cfg *config.Config, h Host) []Finding {
	sc := cfg.Collectors.Service
	if !sc.IsEnabled() {
		return []Finding{{Area: "services", Status: Warn, What: "the service collector is disabled: nobody notices a stopped Postfix or Dovecot", Fix: "set collectors.service.enabled: true"}}
	}
	systemd := h.exists("/run/systemd/system")
	if sc.Backend == "process" || (sc.Backend == "auto" && !systemd) {
		return []Finding{{Area: "services", Status: Info, What: "no systemd here: services are found by pidfile and process name in /proc"}}
	}
	var out []Finding
	for _, u := range sc.Units {
		if unitInstalled(u, h) {
			out = append(out, Finding{Area: "services", Status: OK, What: "unit " + u + " is installed"})
			continue
		}
		f := Finding{Area: "services", Status: Warn, What: "unit " + u + " is not installed", Fix: "remove it from collectors.service.units, or move it to optional_units"}
		if u == "postfix.service" {
			f.Fix = "on Debian watch postfix@-.service: postfix.service is a wrapper that stays active when Postfix is dead"
		}
		out = append(out, f)
	}
	for _, u := range sc.Units {
		if u == "postfix.service" {
			out = append(out, Finding{Area: "services", Status: Warn, What: "postfix.service is only a wrapper on Debian; it stays active when Postfix is dead", Fix: "watch postfix@-.service instead"})
		}
	}
	return out
}

var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}

func unitInstalled(unit string, h Host) bool {
	names := []string{unit}
	if at := strings.IndexByte(unit, '@'); at >= 0 {
		if dot := strings.LastIndexByte(unit, '.'); dot > at {
			names = append(names, unit[:at+1]+unit[dot:]) // postfix@-.service -> postfix@.service
		}
	}
	for _, d := range unitDirs {
		for _, n := range names {
			if h.exists(filepath.Join(d, n)) {
				return true
			}
		}
	}
	return false
}

func certFiles(cfg *config.Config, h Host) []Finding {
	cc := cfg.Collectors.Certs
	if !cc.IsEnabled() {
		return nil
	}
	var out []Finding
	for _, pattern := range cc.Files {
		m, _ := filepath.Glob(pattern)
		if len(m) == 0 {
			dir := filepath.Dir(pattern)
			for strings.ContainsAny(dir, "*?[") {
				dir = filepath.Dir(dir)
			}
			if _, err := os.ReadDir(dir); errors.Is(err, fs.ErrPermission) {
				out = append(out, Finding{Area: "certificates", Status: Fail, What: "cannot list " + dir + " for " + pattern + " (permission denied)",
					Fix: "certbot makes live/ and archive/ 0700: setfacl -R -m u:" + h.userName() + ":rX /etc/letsencrypt/live /etc/letsencrypt/archive (and -d for new files)"})
			}
			continue
		}
		for _, p := range m {
			if err := canRead(p); err != nil {
				out = append(out, Finding{Area: "certificates", Status: Fail, What: "cannot read " + p + ": " + shortErr(err),
					Fix: "setfacl -m u:" + h.userName() + ":r " + p + " (and rX on its directories)"})
			} else {
				out = append(out, Finding{Area: "certificates", Status: OK, What: "can read " + p})
			}
		}
	}
	if len(cc.Endpoints) == 0 && h.Dial != nil {
		var open []string
		for _, port := range []string{"25", "465", "587", "143", "993", "995", "4190"} {
			if c, err := h.Dial("tcp", "127.0.0.1:"+port, 500*time.Millisecond); err == nil {
				c.Close()
				open = append(open, port)
			}
		}
		if len(open) > 0 {
			out = append(out, Finding{Area: "certificates", Status: Warn,
				What: "ports " + strings.Join(open, ", ") + " listen on this host but no TLS endpoint is checked: a renewed certificate that was never reloaded goes unnoticed",
				Fix:  "list them under collectors.certs.endpoints (e.g. target: smtp://127.0.0.1:25, expect_file: your fullchain.pem)"})
		}
	}
	return out
}

func fail2banDB(cfg *config.Config, h Host) []Finding {
	fc := cfg.Collectors.Fail2ban
	if !fc.IsEnabled() {
		if h.exists("/usr/bin/fail2ban-server") {
			return []Finding{{Area: "fail2ban", Status: Warn, What: "fail2ban is installed but its collector is disabled", Fix: "set collectors.fail2ban.enabled: true"}}
		}
		return nil
	}
	err := canRead(fc.Database)
	switch {
	case err == nil:
		return []Finding{{Area: "fail2ban", Status: OK, What: "can read " + fc.Database}}
	case errors.Is(err, fs.ErrNotExist):
		return nil // not installed: the collector says so quietly
	default:
		return []Finding{{Area: "fail2ban", Status: Fail, What: "cannot read " + fc.Database + ": " + shortErr(err),
			Fix: "grant read access with the ACL lines of deploy/systemd/mailwatchd.tmpfiles (setfacl -m u:" + h.userName() + ":r " + fc.Database + ")"}}
	}
}

// unwatched lists software this host clearly has that the config ignores.
func unwatched(cfg *config.Config, h Host) []Finding {
	var out []Finding
	c := cfg.Collectors
	units := map[string]bool{}
	for _, u := range append(append([]string{}, c.Service.Units...), c.Service.OptionalUnits...) {
		units[u] = true
	}
	for _, p := range []struct{ bin, unit string }{
		{"/usr/sbin/dovecot", "dovecot.service"}, {"/usr/sbin/opendkim", "opendkim.service"},
		{"/usr/bin/fail2ban-server", "fail2ban.service"}, {"/usr/bin/rspamd", "rspamd.service"},
		{"/usr/sbin/clamd", "clamav-daemon.service"}, {"/usr/sbin/amavisd-new", "amavis.service"},
	} {
		if h.exists(p.bin) && c.Service.IsEnabled() && c.Service.Backend != "process" && !units[p.unit] {
			out = append(out, Finding{Area: "coverage", Status: Warn, What: p.bin + " is installed but " + p.unit + " is not watched", Fix: "add " + p.unit + " to collectors.service.units"})
		}
	}
	if h.exists("/var/lib/clamav") && !c.ClamAV.IsEnabled() {
		out = append(out, Finding{Area: "coverage", Status: Warn, What: "ClamAV databases exist but the clamav collector is disabled", Fix: "set collectors.clamav.enabled: true"})
	}
	if h.exists("/etc/letsencrypt/live") && !c.Certs.IsEnabled() {
		out = append(out, Finding{Area: "coverage", Status: Warn, What: "certbot certificates exist but the certs collector is disabled", Fix: "set collectors.certs.enabled: true"})
	}
	if c.Backup.IsEnabled() && len(c.Backup.Sets) == 0 {
		out = append(out, Finding{Area: "coverage", Status: Info, What: "no backup sets configured: nobody checks that backups are fresh and readable", Fix: "add your backup archives under collectors.backup.sets"})
	}
	return out
}

func dnsChecks(cfg *config.Config) []Finding {
	c := cfg.Collectors
	var out []Finding
	if !c.MailDNS.IsEnabled() {
		out = append(out, Finding{Area: "dns", Status: Info, What: "mail DNS checks (MX, SPF, DMARC, DKIM, PTR, the SPF result of each sending address, DANE) are off", Fix: "name your mail domains (and their sending_ips, for PTR and SPF evaluation) under collectors.mail_dns.domains, and enable it; it needs outgoing DNS only, and for DANE (collectors.mail_dns.dane) a connection to port 25 of each MX host, read access to its certificate file and a DNSSEC-validating resolver, and for MTA-STS (mta_sts: true) an HTTPS request to mta-sts.<domain>"})
	}
	if !c.DNSBL.IsEnabled() {
		out = append(out, Finding{Area: "dns", Status: Info, What: "blocklist checks are off", Fix: "name your sending addresses under collectors.dnsbl.addresses, a local resolver, and enable it"})
	}
	return out
}

var exposureRe = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

func unitHardening(h Host) []Finding {
	var unit string
	for _, d := range unitDirs {
		if p := h.path(filepath.Join(d, "mailwatchd.service")); fileExists(p) {
			unit = p
			break
		}
	}
	if unit == "" {
		return []Finding{{Area: "unit", Status: Info, What: "mailwatchd.service is not installed", Fix: "make install installs the hardened unit from deploy/systemd"}}
	}
	sa, err := h.LookPath("systemd-analyze")
	if err != nil {
		return []Finding{{Area: "unit", Status: Info, What: "systemd-analyze not found: cannot rate " + unit}}
	}
	out, _ := exec.Command(sa, "security", "--offline=true", "--no-pager", unit).CombinedOutput()
	m := exposureRe.FindSubmatch(out)
	if m == nil {
		return []Finding{{Area: "unit", Status: Info, What: "systemd-analyze could not rate " + unit}}
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	if v > 2.0 {
		return []Finding{{Area: "unit", Status: Warn, What: fmt.Sprintf("%s has exposure level %.1f (the shipped unit is 1.7)", unit, v), Fix: "compare with deploy/systemd/mailwatchd.service and restore its hardening"}}
	}
	return []Finding{{Area: "unit", Status: OK, What: fmt.Sprintf("%s is hardened (exposure level %.1f)", unit, v)}}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func shortErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// maintenanceState describes a maintenance window that is set, "" when none.
func maintenanceState(dir string) (string, error) {
	st, err := maintenance.Current(dir, time.Now())
	switch {
	case err != nil:
		return "", err
	case st.Active:
		return "in maintenance until " + st.End.Format(time.RFC3339) + ": alerts are inhibited", nil
	case st.Set:
		return "an expired maintenance window is still in " + maintenance.Path(dir) + " (mailwatchd maintenance stop removes it)", nil
	}
	return "", nil
}
