// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "service"

// Backends.
const (
	// BackendAuto picks systemd when the host was booted with it (the
	// /run/systemd/system test of sd_booted(3)), else process.
	BackendAuto = "auto"
	// BackendSystemd asks systemd over D-Bus about the configured units.
	BackendSystemd = "systemd"
	// BackendProcess looks for the configured processes in /proc, for
	// containers and hosts where a supervisor other than systemd runs them.
	BackendProcess = "process"
)

// maxServices bounds each list: every service costs up to 12 series.
const maxServices = 50

// Config is the collectors.service section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Backend is auto, systemd or process.
	Backend string `yaml:"backend"`
	// Units are the systemd units that should exist on this host; one that
	// is missing is logged (once) as a warning.
	Units []string `yaml:"units"`
	// OptionalUnits are reported the same way, but their absence is normal
	// and is not logged.
	OptionalUnits []string `yaml:"optional_units"`
	// Processes are the services the process backend looks for.
	Processes []Process `yaml:"processes"`
	// Timers are the systemd timers whose chores must not fail silently
	// (mailwatch_timer_*). Without systemd, certbot.timer, apt-daily.timer
	// and apt-daily-upgrade.timer are read from the traces the same chores
	// leave when cron runs them (CertbotLogDir, AptPeriodicDir).
	Timers []string `yaml:"timers"`
	// CertbotLogDir holds certbot's letsencrypt.log and its rotated copies.
	CertbotLogDir string `yaml:"certbot_log_dir"`
	// AptPeriodicDir holds the stamps of apt.systemd.daily.
	AptPeriodicDir string `yaml:"apt_periodic_dir"`
}

// DefaultTimers are the chores of a Debian mail host: certificate renewal,
// the daily unattended upgrade, log rotation. Add your backup timer.
var DefaultTimers = []string{"certbot.timer", "apt-daily-upgrade.timer", "logrotate.timer"}

// Defaults of the non-systemd evidence, Debian's paths.
const (
	DefaultCertbotLogDir  = "/var/log/letsencrypt"
	DefaultAptPeriodicDir = "/var/lib/apt/periodic"
)

// Process says how the process backend finds one service: by its pidfile
// and, when that is missing, unreadable or stale, by the name of its main
// process.
type Process struct {
	// Name is the value of the unit label.
	Name string `yaml:"name"`
	// Pidfile holds the PID of the service's main process.
	Pidfile string `yaml:"pidfile"`
	// Comm is the kernel's name of the main process (/proc/PID/comm, at most
	// 15 bytes).
	Comm string `yaml:"comm"`
	// Cmdline, when set, must also match the command line (arguments joined
	// by spaces) of a process whose comm matched, for names as generic as
	// Postfix's "master". It needs comm: reading every process's command
	// line on each run would be slow, and can block on a hung process.
	Cmdline confval.Regexp `yaml:"cmdline"`
	// Executable is the installed program: when it exists the service counts
	// as present even while it is not running.
	Executable string `yaml:"executable"`
	// Optional services are not logged when absent.
	Optional bool `yaml:"optional"`
}

// DefaultUnits are the units that run the mail stack on Debian. Postfix runs
// in postfix@-.service, the instance of the default configuration;
// postfix.service only starts and stops the instances and stays "active"
// when the master process has died.
var DefaultUnits = []string{"postfix@-.service", "dovecot.service", "opendkim.service", "fail2ban.service"}

// DefaultOptionalUnits are common additions, absent on many hosts.
var DefaultOptionalUnits = []string{"clamav-daemon.service", "clamav-freshclam.service", "rspamd.service", "amavis.service"}

// DefaultProcesses returns the Debian paths and names of the same services.
// Postfix, Dovecot and fail2ban write their pidfiles root-only (0600), so an
// unprivileged mailwatchd finds them by name.
func DefaultProcesses() []Process {
	return []Process{
		{Name: "postfix", Pidfile: "/var/spool/postfix/pid/master.pid", Comm: "master", Cmdline: mustRegexp(`postfix`), Executable: "/usr/lib/postfix/sbin/master"},
		{Name: "dovecot", Pidfile: "/run/dovecot/master.pid", Comm: "dovecot", Executable: "/usr/sbin/dovecot"},
		{Name: "opendkim", Pidfile: "/run/opendkim/opendkim.pid", Comm: "opendkim", Executable: "/usr/sbin/opendkim"},
		{Name: "fail2ban", Pidfile: "/run/fail2ban/fail2ban.pid", Comm: "fail2ban-server", Executable: "/usr/bin/fail2ban-server"},
		{Name: "clamav-daemon", Pidfile: "/run/clamav/clamd.pid", Comm: "clamd", Executable: "/usr/sbin/clamd", Optional: true},
		{Name: "clamav-freshclam", Pidfile: "/run/clamav/freshclam.pid", Comm: "freshclam", Executable: "/usr/bin/freshclam", Optional: true},
		{Name: "rspamd", Pidfile: "/run/rspamd/rspamd.pid", Comm: "rspamd", Executable: "/usr/bin/rspamd", Optional: true},
		// amavisd-new (Perl) renames itself "amavisd (master)", which Perl
		// also sets as comm; the kernel keeps its first 15 bytes.
		{Name: "amavis", Pidfile: "/run/amavis/amavisd.pid", Comm: "amavisd (master", Executable: "/usr/sbin/amavisd-new", Optional: true},
	}
}

func mustRegexp(s string) confval.Regexp { return confval.Regexp{Regexp: regexp.MustCompile(s)} }

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: a local D-Bus round trip or a /proc scan costs milliseconds, so
// every 15s, the scrape interval most users run, is cheap.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 15 * time.Second, Timeout: 10 * time.Second, MinInterval: 5 * time.Second}
}

// ApplyDefaults fills the backend and the lists left unset. An explicitly
// empty list (optional_units: []) stays empty.
func (c *Config) ApplyDefaults() {
	if c.Backend == "" {
		c.Backend = BackendAuto
	}
	if c.Units == nil {
		c.Units = append([]string(nil), DefaultUnits...)
	}
	if c.OptionalUnits == nil {
		c.OptionalUnits = append([]string(nil), DefaultOptionalUnits...)
	}
	if c.Processes == nil {
		c.Processes = DefaultProcesses()
	}
	if c.Timers == nil {
		c.Timers = append([]string(nil), DefaultTimers...)
	}
	if c.CertbotLogDir == "" {
		c.CertbotLogDir = DefaultCertbotLogDir
	}
	if c.AptPeriodicDir == "" {
		c.AptPeriodicDir = DefaultAptPeriodicDir
	}
}

// Validate checks the backend, the unit names and the process entries.
func (c *Config) Validate() []error {
	var errs []error
	switch c.Backend {
	case BackendAuto, BackendSystemd, BackendProcess:
	default:
		errs = append(errs, confval.Errorf("backend", "must be %q, %q or %q, got %q", BackendAuto, BackendSystemd, BackendProcess, c.Backend))
	}
	seen := map[string]bool{}
	errs = append(errs, validateUnits("units", c.Units, seen)...)
	errs = append(errs, validateUnits("optional_units", c.OptionalUnits, seen)...)
	if n := len(c.Units) + len(c.OptionalUnits); n > maxServices {
		errs = append(errs, confval.Errorf("units", "%d units with optional_units, more than %d", n, maxServices))
	}
	if len(c.Processes) > maxServices {
		errs = append(errs, confval.Errorf("processes", "%d entries, more than %d", len(c.Processes), maxServices))
	}
	errs = append(errs, validateUnits("timers", c.Timers, map[string]bool{})...)
	for i, u := range c.Timers {
		if checkUnitName(u) == "" && !strings.HasSuffix(u, ".timer") {
			errs = append(errs, confval.Errorf("timers["+strconv.Itoa(i)+"]", "%q is not a timer unit (name.timer)", u))
		}
	}
	if len(c.Timers) > maxServices {
		errs = append(errs, confval.Errorf("timers", "%d timers, more than %d", len(c.Timers), maxServices))
	}
	errs = append(errs, confval.CheckPath("certbot_log_dir", c.CertbotLogDir)...)
	errs = append(errs, confval.CheckPath("apt_periodic_dir", c.AptPeriodicDir)...)
	names := map[string]bool{}
	for i, p := range c.Processes {
		errs = append(errs, p.validate("processes["+strconv.Itoa(i)+"]", names)...)
	}
	if c.IsEnabled() {
		noUnits := len(c.Units)+len(c.OptionalUnits) == 0
		switch {
		case c.Backend == BackendSystemd && noUnits:
			errs = append(errs, confval.Errorf("units", "backend systemd but no units to watch"))
		case c.Backend == BackendProcess && len(c.Processes) == 0:
			errs = append(errs, confval.Errorf("processes", "backend process but no processes to watch"))
		case c.Backend == BackendAuto && noUnits && len(c.Processes) == 0:
			errs = append(errs, confval.Errorf("", "enabled but nothing to watch: set units or processes"))
		}
	}
	return errs
}

// unitSuffixes are the unit types systemd knows (systemd.unit(5)).
var unitSuffixes = []string{".service", ".socket", ".device", ".mount", ".automount", ".swap", ".target", ".path", ".timer", ".slice", ".scope"}

func validateUnits(key string, units []string, seen map[string]bool) []error {
	var errs []error
	for i, u := range units {
		at := key + "[" + strconv.Itoa(i) + "]"
		if msg := checkUnitName(u); msg != "" {
			errs = append(errs, confval.Errorf(at, "%q %s", u, msg))
			continue
		}
		if seen[u] {
			errs = append(errs, confval.Errorf(at, "%q is listed twice", u))
		}
		seen[u] = true
	}
	return errs
}

// checkUnitName returns what is wrong with a unit name, or "". Names must be
// exact: ListUnitsByNames takes no patterns, and the name becomes a label.
func checkUnitName(u string) string {
	dot := strings.LastIndexByte(u, '.')
	switch {
	case u == "":
		return "is empty"
	case len(u) > 255:
		return "is longer than 255 bytes"
	case !onlyFrom(u, unitNameChars):
		return "has characters systemd does not allow in unit names (no patterns)"
	case dot <= 0 || !hasUnitSuffix(u):
		return "does not end in a unit type such as .service; write " + strconv.Quote(u+".service") + "?"
	case strings.HasSuffix(u[:dot], "@"):
		return "is a template, not a unit; name an instance, e.g. postfix@-.service"
	}
	return ""
}

const (
	alnum            = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	unitNameChars    = alnum + ":-_.\\@"
	processNameChars = alnum + ":-_.@"
)

func onlyFrom(s, set string) bool {
	for _, r := range s {
		if !strings.ContainsRune(set, r) {
			return false
		}
	}
	return true
}

func hasUnitSuffix(u string) bool {
	for _, s := range unitSuffixes {
		if strings.HasSuffix(u, s) {
			return true
		}
	}
	return false
}

func (p *Process) validate(at string, names map[string]bool) []error {
	var errs []error
	switch {
	case p.Name == "":
		errs = append(errs, confval.Errorf(at+".name", "is required"))
	case !onlyFrom(p.Name, processNameChars):
		errs = append(errs, confval.Errorf(at+".name", "%q may only have letters, digits and :-_.@", p.Name))
	case names[p.Name]:
		errs = append(errs, confval.Errorf(at+".name", "%q is listed twice", p.Name))
	}
	names[p.Name] = true
	for _, f := range []struct{ key, path string }{{"pidfile", p.Pidfile}, {"executable", p.Executable}} {
		errs = append(errs, confval.CheckOptionalPath(at+"."+f.key, f.path)...)
	}
	if len(p.Comm) > maxComm || strings.ContainsAny(p.Comm, "/\x00") {
		errs = append(errs, confval.Errorf(at+".comm", "%q is not a process name: the kernel keeps at most %d bytes and no /", p.Comm, maxComm))
	}
	switch {
	case p.Cmdline.Regexp != nil && p.Comm == "":
		errs = append(errs, confval.Errorf(at+".cmdline", "only narrows comm: set comm too"))
	case p.Pidfile == "" && p.Comm == "":
		errs = append(errs, confval.Errorf(at, "set pidfile or comm: nothing identifies the process"))
	}
	return errs
}

// maxComm is TASK_COMM_LEN (16) minus the terminating NUL.
const maxComm = 15
