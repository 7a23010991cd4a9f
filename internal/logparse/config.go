// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/confval"
	"github.com/mailwatchd/mailwatchd/internal/logparse/follow"
	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// Config is the logs: section of the configuration.
type Config struct {
	// Sources are the logs to follow. Absent: one file source "mail" on
	// /var/log/mail.log. An explicit empty list follows nothing.
	Sources []SourceConfig `yaml:"sources"`
	// StartAt is where a file or journal seen for the first time (no saved
	// position) is read from: "end" (default) or "beginning".
	StartAt string `yaml:"start_at"`
	// PollInterval is how often files are checked for new lines, rotation
	// and truncation while they change (default 250ms) where inotify cannot
	// watch them; while they stand still the checks slow down to one a
	// second (see idlePollMax). With inotify, events trigger the checks and
	// a safety check runs every 10s (follow/watch.go).
	PollInterval confval.Duration `yaml:"poll_interval"`
	// StateSaveInterval is how often positions and counters are written to
	// the state directory (default 10s); they are also written on shutdown.
	StateSaveInterval confval.Duration `yaml:"state_save_interval"`
	// RotateWait is how long a renamed or deleted file is still read after
	// rotation, for the lines its writer adds before reopening (default 5s).
	RotateWait confval.Duration `yaml:"rotate_wait"`
	// MaxCatchUp bounds what is read at start-up from saved positions,
	// rotated siblings and start_at: beginning, per file source; older bytes
	// are skipped and counted (default 1GiB).
	MaxCatchUp ByteSize `yaml:"max_catchup_bytes"`
	// Rules are user classification rules, counted as events by name.
	Rules []RuleConfig `yaml:"rules"`
	// Providers are the mailbox providers of the delivery metrics, in
	// matching order. Absent: google, microsoft, yahoo and apple
	// (maillog.DefaultProviders). An explicit empty list counts every
	// delivery under "other". At most maillog.MaxProviders.
	Providers []ProviderConfig `yaml:"providers"`
	// Services are the values of the service label of the smtpd connection
	// metrics: the master.cf services named by the syslog name of their
	// smtpd (maillog.ServiceOfTag); connections to others count as
	// "other". Absent: smtp, submission, submissions. At most
	// maillog.MaxServices.
	Services []string `yaml:"services"`
	// SASLWindow is the sliding window of the per-SASL-user counts (sasl.go,
	// default 1h; between 12m and 24h).
	SASLWindow confval.Duration `yaml:"sasl_window"`
	// SASLTopSenders is the number of rank slots exported (default 5, 1 to
	// MaxSASLTopSenders).
	SASLTopSenders int `yaml:"sasl_top_senders"`
	// SASLMaxUsers and SASLMaxQueueIDs cap the tracked SASL users and
	// queue ids (defaults 10000 and 50000, at most 10x those).
	SASLMaxUsers    int `yaml:"sasl_max_users"`
	SASLMaxQueueIDs int `yaml:"sasl_max_queue_ids"`
}

// ProviderConfig is one mailbox provider: a delivery whose relay host name
// matches one of RelaySuffixes, or else whose recipient domain matches one
// of RecipientDomainSuffixes, counts under its name. A suffix "example.com"
// matches that name and every name below it; ".example.com" only the names
// below it.
type ProviderConfig struct {
	// Name is the provider label value; snake_case, unique, not "other".
	Name string `yaml:"name"`
	// RelaySuffixes match the relay= host name (MX hosts).
	RelaySuffixes []string `yaml:"relay_suffixes"`
	// RecipientDomainSuffixes match the domain of the recipient (to=).
	RecipientDomainSuffixes []string `yaml:"recipient_domain_suffixes"`
}

// SourceConfig is one log source.
type SourceConfig struct {
	// Name is the source label value; snake_case and unique.
	Name string `yaml:"name"`
	// Type is "file" (default) or "journal".
	Type string `yaml:"type"`
	// Paths are absolute file paths or glob patterns (type file). Compressed
	// files (.gz, .bz2, .xz, .zst) matched by a glob are ignored.
	Paths []string `yaml:"paths"`
	// Units and Identifiers select journal entries (type journal) by
	// _SYSTEMD_UNIT or SYSLOG_IDENTIFIER; an entry matching either is read.
	Units       []string `yaml:"units"`
	Identifiers []string `yaml:"identifiers"`
}

// RuleConfig is one user rule: lines of Program whose message matches Match
// count under the event label Name.
type RuleConfig struct {
	// Name is the event label value; snake_case, unique, not a built-in event.
	Name string `yaml:"name"`
	// Program selects lines: empty for all; a family (postfix, dovecot,
	// opendkim, fail2ban, clamav, freshclam, amavis, rspamd, other); an
	// exact syslog tag ("postfix/submission/smtpd"); or "postfix/<daemon>"
	// for that Postfix daemon under every service and instance name.
	Program string `yaml:"program"`
	// Match is an RE2 expression, unanchored, run on the message: the text
	// after "tag[pid]: ".
	Match confval.Regexp `yaml:"match"`
}

// Source types and start positions.
const (
	SourceFile    = follow.KindFile
	SourceJournal = follow.KindJournal
	StartEnd      = "end"
	StartBegin    = "beginning"
)

// Defaults.
const (
	DefaultMailLog           = "/var/log/mail.log"
	DefaultPollInterval      = 250 * time.Millisecond
	DefaultStateSaveInterval = 10 * time.Second
	DefaultRotateWait        = 5 * time.Second
	DefaultMaxCatchUp        = 1 << 30
	DefaultSASLWindow        = time.Hour
	DefaultSASLTopSenders    = 5
	DefaultSASLMaxUsers      = 10000
	DefaultSASLMaxQueueIDs   = 50000
)

// ApplyDefaults fills keys left at their zero value with Debian 12 defaults.
func (c *Config) ApplyDefaults() {
	if c.Sources == nil {
		c.Sources = []SourceConfig{{Name: "mail", Type: SourceFile, Paths: []string{DefaultMailLog}}}
	}
	for i := range c.Sources {
		if c.Sources[i].Type == "" {
			c.Sources[i].Type = SourceFile
		}
	}
	if c.StartAt == "" {
		c.StartAt = StartEnd
	}
	if c.PollInterval == 0 {
		c.PollInterval = confval.Duration(DefaultPollInterval)
	}
	if c.StateSaveInterval == 0 {
		c.StateSaveInterval = confval.Duration(DefaultStateSaveInterval)
	}
	if c.RotateWait == 0 {
		c.RotateWait = confval.Duration(DefaultRotateWait)
	}
	if c.MaxCatchUp == 0 {
		c.MaxCatchUp = DefaultMaxCatchUp
	}
	if c.Providers == nil {
		c.Providers = DefaultProviders()
	}
	if c.Services == nil {
		c.Services = maillog.DefaultServices()
	}
	if c.SASLWindow == 0 {
		c.SASLWindow = confval.Duration(DefaultSASLWindow)
	}
	if c.SASLTopSenders == 0 {
		c.SASLTopSenders = DefaultSASLTopSenders
	}
	if c.SASLMaxUsers == 0 {
		c.SASLMaxUsers = DefaultSASLMaxUsers
	}
	if c.SASLMaxQueueIDs == 0 {
		c.SASLMaxQueueIDs = DefaultSASLMaxQueueIDs
	}
}

// DefaultProviders are the providers of a config without providers.
func DefaultProviders() []ProviderConfig {
	def := maillog.DefaultProviders()
	out := make([]ProviderConfig, len(def))
	for i, p := range def {
		out[i] = ProviderConfig{Name: p.Name, RelaySuffixes: p.RelaySuffixes, RecipientDomainSuffixes: p.RecipientDomainSuffixes}
	}
	return out
}

// classifierProviders converts the providers for maillog.NewClassifier.
func classifierProviders(ps []ProviderConfig) []maillog.Provider {
	out := make([]maillog.Provider, len(ps))
	for i, p := range ps {
		out[i] = maillog.Provider{Name: p.Name, RelaySuffixes: p.RelaySuffixes, RecipientDomainSuffixes: p.RecipientDomainSuffixes}
	}
	return out
}

var (
	snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	unitName  = regexp.MustCompile(`^[A-Za-z0-9:_.\\@-]+\.(service|socket|scope|timer|slice|mount|target|path)$`)
)

// Validate returns every problem of the section as *confval.FieldError,
// with paths relative to logs. It does no I/O. Call ApplyDefaults first.
func (c *Config) Validate() []error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, confval.Errorf(path, format, args...)) }
	if c.StartAt != StartEnd && c.StartAt != StartBegin {
		add("start_at", "must be %q or %q, not %q", StartEnd, StartBegin, c.StartAt)
	}
	if d := c.PollInterval.D(); d < 10*time.Millisecond || d > time.Minute {
		add("poll_interval", "must be between 10ms and 1m, not %s", c.PollInterval)
	}
	if c.StateSaveInterval.D() < time.Second {
		add("state_save_interval", "must be at least 1s, not %s", c.StateSaveInterval)
	}
	if c.MaxCatchUp < 0 {
		add("max_catchup_bytes", "must not be negative")
	}
	if d := c.SASLWindow.D(); d != 0 && d < 12*time.Minute || d > 24*time.Hour {
		add("sasl_window", "must be between 12m and 24h, not %s", c.SASLWindow)
	}
	if c.SASLTopSenders < 0 || c.SASLTopSenders > MaxSASLTopSenders {
		add("sasl_top_senders", "must be between 1 and %d (0: the default), not %d", MaxSASLTopSenders, c.SASLTopSenders)
	}
	if c.SASLMaxUsers < 0 || c.SASLMaxUsers > 10*DefaultSASLMaxUsers {
		add("sasl_max_users", "must be between 1 and %d, not %d", 10*DefaultSASLMaxUsers, c.SASLMaxUsers)
	}
	if c.SASLMaxQueueIDs < 0 || c.SASLMaxQueueIDs > 10*DefaultSASLMaxQueueIDs {
		add("sasl_max_queue_ids", "must be between 1 and %d, not %d", 10*DefaultSASLMaxQueueIDs, c.SASLMaxQueueIDs)
	}
	names := map[string]bool{}
	for i := range c.Sources {
		errs = append(errs, c.Sources[i].validate(fmt.Sprintf("sources[%d]", i), names)...)
	}
	rules := map[string]bool{}
	for i, r := range c.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		switch {
		case !snakeCase.MatchString(r.Name):
			add(p+".name", "%q is not a snake_case name", r.Name)
		case maillog.IsBuiltinEvent(r.Name):
			add(p+".name", "%q is a built-in event name", r.Name)
		case rules[r.Name]:
			add(p+".name", "duplicate rule name %q", r.Name)
		}
		rules[r.Name] = true
		if r.Match.Regexp == nil {
			add(p+".match", "a regular expression is required")
		}
		if strings.ContainsAny(r.Program, " \t") {
			add(p+".program", "%q is not a program name", r.Program)
		}
	}
	errs = append(errs, validateProviders(c.Providers)...)
	if len(c.Services) > maillog.MaxServices {
		add("services", "%d services, at most %d (the service label has at most %d values with \"other\")",
			len(c.Services), maillog.MaxServices, maillog.MaxServices+1)
	}
	seen := map[string]bool{}
	for i, s := range c.Services {
		if why := maillog.CheckService(s); why != "" {
			add(fmt.Sprintf("services[%d]", i), "%q %s", s, why)
		} else if seen[s] {
			add(fmt.Sprintf("services[%d]", i), "duplicate service %q", s)
		}
		seen[s] = true
	}
	return errs
}

func validateProviders(ps []ProviderConfig) []error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, confval.Errorf(path, format, args...)) }
	if len(ps) > maillog.MaxProviders {
		add("providers", "%d providers, at most %d (the provider label has at most %d values with \"other\")",
			len(ps), maillog.MaxProviders, maillog.MaxProviders+1)
	}
	names := map[string]bool{}
	owner := map[string]string{} // "relay:" or "rcpt:" + suffix -> provider
	for i, pc := range ps {
		p := fmt.Sprintf("providers[%d]", i)
		switch {
		case !snakeCase.MatchString(pc.Name):
			add(p+".name", "%q is not a snake_case name", pc.Name)
		case pc.Name == maillog.OtherProvider:
			add(p+".name", "%q is the label of deliveries no provider claims", pc.Name)
		case names[pc.Name]:
			add(p+".name", "duplicate provider name %q", pc.Name)
		}
		names[pc.Name] = true
		if len(pc.RelaySuffixes)+len(pc.RecipientDomainSuffixes) == 0 {
			add(p, "a provider needs relay_suffixes or recipient_domain_suffixes")
		}
		for _, l := range []struct {
			key  string
			list []string
		}{{"relay_suffixes", pc.RelaySuffixes}, {"recipient_domain_suffixes", pc.RecipientDomainSuffixes}} {
			if len(l.list) > maillog.MaxProviderSuffixes {
				add(p+"."+l.key, "%d suffixes, at most %d", len(l.list), maillog.MaxProviderSuffixes)
			}
			for j, sfx := range l.list {
				sp := fmt.Sprintf("%s.%s[%d]", p, l.key, j)
				if why := maillog.CheckSuffix(sfx); why != "" {
					add(sp, "%q %s (want a lower-case domain name such as example.com or .example.com)", sfx, why)
					continue
				}
				key := l.key + ":" + sfx
				if prev, ok := owner[key]; ok {
					add(sp, "%q is already a suffix of provider %q", sfx, prev)
					continue
				}
				owner[key] = pc.Name
			}
		}
	}
	return errs
}

func (s *SourceConfig) validate(p string, names map[string]bool) []error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, confval.Errorf(path, format, args...)) }
	switch {
	case !snakeCase.MatchString(s.Name):
		add(p+".name", "%q is not a snake_case name", s.Name)
	case names[s.Name]:
		add(p+".name", "duplicate source name %q", s.Name)
	}
	names[s.Name] = true
	switch s.Type {
	case SourceFile:
		if len(s.Paths) == 0 {
			add(p+".paths", "a file source needs at least one path")
		}
		for j, path := range s.Paths {
			if !filepath.IsAbs(path) {
				add(fmt.Sprintf("%s.paths[%d]", p, j), "%q is not an absolute path", path)
			} else if _, err := filepath.Match(path, ""); err != nil {
				add(fmt.Sprintf("%s.paths[%d]", p, j), "bad glob pattern %q", path)
			}
		}
		if len(s.Units)+len(s.Identifiers) > 0 {
			add(p, "units and identifiers are for journal sources")
		}
	case SourceJournal:
		if len(s.Units)+len(s.Identifiers) == 0 {
			add(p, "a journal source needs units or identifiers")
		}
		for j, u := range s.Units {
			if !unitName.MatchString(u) {
				add(fmt.Sprintf("%s.units[%d]", p, j), "%q is not a systemd unit name", u)
			}
		}
		for j, id := range s.Identifiers {
			if id == "" || strings.ContainsAny(id, " \t=") {
				add(fmt.Sprintf("%s.identifiers[%d]", p, j), "%q is not a syslog identifier", id)
			}
		}
		if len(s.Paths) > 0 {
			add(p+".paths", "paths are for file sources")
		}
	default:
		add(p+".type", "must be %q or %q, not %q", SourceFile, SourceJournal, s.Type)
	}
	return errs
}

// ByteSize is a size in bytes that also reads "512KiB", "64MiB", "1GiB",
// "1GB".
type ByteSize int64

// ParseByteSize parses a plain number of bytes or a number with a unit (B,
// KB, MB, GB, KiB, MiB, GiB).
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	mult := map[string]float64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[unit]
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || f < 0 {
		return 0, fmt.Errorf("invalid size %q (use bytes or a unit: KiB, MiB, GiB, KB, MB, GB)", s)
	}
	return ByteSize(f * mult), nil
}

// UnmarshalYAML reads the scalar (never a struct: see go-yaml#460).
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a size such as 512MiB", n.Line)}}
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*b = v
	return nil
}

// MarshalYAML writes the size in its parseable form.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

func (b ByteSize) String() string {
	for _, u := range []struct {
		n string
		v int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.v == 0 {
			return strconv.FormatInt(int64(b)/u.v, 10) + u.n
		}
	}
	return strconv.FormatInt(int64(b), 10)
}
