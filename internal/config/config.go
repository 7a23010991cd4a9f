// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package config loads mailwatchd's YAML configuration: strict decoding (an
// unknown key at any depth is an error), defaults for a stock Debian 12 mail
// host, and validation that reports every problem at once, each with its
// YAML path and line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/backup"
	"github.com/mailwatchd/mailwatchd/internal/collectors/certs"
	"github.com/mailwatchd/mailwatchd/internal/collectors/clamav"
	"github.com/mailwatchd/mailwatchd/internal/collectors/configdrift"
	"github.com/mailwatchd/mailwatchd/internal/collectors/dnsbl"
	"github.com/mailwatchd/mailwatchd/internal/collectors/fail2ban"
	"github.com/mailwatchd/mailwatchd/internal/collectors/filesystem"
	"github.com/mailwatchd/mailwatchd/internal/collectors/mailbox"
	"github.com/mailwatchd/mailwatchd/internal/collectors/maildns"
	"github.com/mailwatchd/mailwatchd/internal/collectors/maintenance"
	"github.com/mailwatchd/mailwatchd/internal/collectors/postfixqueue"
	"github.com/mailwatchd/mailwatchd/internal/collectors/quarantine"
	"github.com/mailwatchd/mailwatchd/internal/collectors/roundtrip"
	"github.com/mailwatchd/mailwatchd/internal/collectors/saturation"
	"github.com/mailwatchd/mailwatchd/internal/collectors/service"
	"github.com/mailwatchd/mailwatchd/internal/collectors/updates"
	"github.com/mailwatchd/mailwatchd/internal/confval"
	"github.com/mailwatchd/mailwatchd/internal/logparse"
	"github.com/mailwatchd/mailwatchd/internal/logparse/follow"
)

// Bounds of the stale window (stale_after_intervals × a collector's
// interval): well past any sensible setting, and far from overflowing a
// time.Duration, which would make the window negative.
const (
	maxStaleAfterIntervals = 1000
	maxStaleWindow         = 365 * 24 * time.Hour
)

// DefaultPath is where the Debian package and the systemd unit expect the file.
const DefaultPath = "/etc/mailwatchd/config.yaml"

// Config is the whole configuration file.
type Config struct {
	Global     Global     `yaml:"global"`
	Collectors Collectors `yaml:"collectors"`
	// Logs is the log pipeline: sources, and user rules.
	Logs logparse.Config `yaml:"logs"`
	// Thresholds judge `mailwatchd check`; defaults equal the alert rules'.
	Thresholds Thresholds `yaml:"thresholds"`
}

// Global holds settings shared by all collectors.
type Global struct {
	// StateDir keeps state that must survive restarts (saved log positions).
	StateDir string `yaml:"state_dir"`
	// StaleAfterIntervals is how many intervals the last good snapshot of a
	// failing collector keeps being served before its series are dropped.
	StaleAfterIntervals int `yaml:"stale_after_intervals"`
	// Roles are what this host does in a fleet (mx, submission, imap,
	// relay, ...), exported as mailwatch_host_info{role} so that rules and
	// dashboards can group hosts. Empty: one series without a role.
	Roles []string `yaml:"roles"`
}

// Collectors is the one list of mailwatchd's collectors: one section per
// collector, the yaml key of each field being the collector's name and its
// collector label. Every field implements collectors.Section, which builds
// the collector; the order here is the order of the landing page and of the
// jobs. Adding a collector is its package, one field here, its block in
// config.example.yaml and its row in the README (tests check all three).
type Collectors struct {
	Service      service.Config      `yaml:"service"`
	Filesystem   filesystem.Config   `yaml:"filesystem"`
	PostfixQueue postfixqueue.Config `yaml:"postfix_queue"`
	Mailbox      mailbox.Config      `yaml:"mailbox"`
	Backup       backup.Config       `yaml:"backup"`
	Certs        certs.Config        `yaml:"certs"`
	DNSBL        dnsbl.Config        `yaml:"dnsbl"`
	MailDNS      maildns.Config      `yaml:"mail_dns"`
	ClamAV       clamav.Config       `yaml:"clamav"`
	Fail2ban     fail2ban.Config     `yaml:"fail2ban"`
	Updates      updates.Config      `yaml:"updates"`
	Saturation   saturation.Config   `yaml:"saturation"`
	Quarantine   quarantine.Config   `yaml:"quarantine"`
	Maintenance  maintenance.Config  `yaml:"maintenance"`
	ConfigDrift  configdrift.Config  `yaml:"config_drift"`
	RoundTrip    roundtrip.Config    `yaml:"roundtrip"`
}

// Section is one named collector section.
type Section struct {
	Name string
	collectors.Section
}

// Sections lists the collector sections in declaration order.
func (c *Collectors) Sections() []Section {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	out := make([]Section, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		s, ok := v.Field(i).Addr().Interface().(collectors.Section)
		if !ok {
			panic(fmt.Sprintf("config: collectors.%s does not implement collectors.Section", name))
		}
		out = append(out, Section{Name: name, Section: s})
	}
	return out
}

// Problem is one thing wrong with a config file.
type Problem struct {
	Path string // YAML path, e.g. collectors.filesystem.timeout
	Line int    // 0 when unknown
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists every problem found in one file.
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.File, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// Load reads, decodes, defaults and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// ReadFile reads a configuration file for Parse. Anything but a regular
// file of at most 1 MiB is refused: a FIFO would block the reload that
// reads it, and a huge file would cost the running daemon its memory.
func ReadFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read config: %s is not a regular file (%s)", path, follow.FileType(fi.Mode()))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("read config: %s is larger than %d KiB", path, maxConfigBytes>>10)
	}
	return data, nil
}

// Parse decodes, defaults and validates data; name is used in messages.
func Parse(name string, data []byte) (*Config, error) {
	cfg := &Config{}
	var probs []Problem
	idx := newIndex()

	if len(data) > maxConfigBytes {
		return nil, &Error{File: name, Problems: []Problem{{Msg: fmt.Sprintf("the file is larger than %d KiB", maxConfigBytes>>10)}}}
	}
	// First pass: the node tree, for the line index and the checks the
	// decoder does not make (size after alias expansion, one document).
	nodes := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := nodes.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Problems: []Problem{syntaxProblem(err)}}
	}
	idx.walk(&root, "")
	if idx.tooBig {
		return nil, &Error{File: name, Problems: []Problem{{Msg: fmt.Sprintf(
			"through its aliases the document expands to more than %d nodes or %d MiB of keys "+
				"(an alias bomb?); mailwatchd refuses it", maxNodes, maxPathBytes>>20)}}}
	}
	for {
		var extra yaml.Node
		err := nodes.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &Error{File: name, Problems: []Problem{syntaxProblem(err)}}
		}
		if emptyDocument(&extra) {
			continue // a trailing "---" holds nothing to ignore
		}
		return nil, &Error{File: name, Problems: []Problem{{Line: extra.Content[0].Line,
			Msg: "a second YAML document (after ---) is not allowed: mailwatchd reads only the first, and would silently ignore this one"}}}
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &Error{File: name, Problems: []Problem{syntaxProblem(err)}}
		}
		for _, msg := range te.Errors {
			probs = append(probs, idx.typeProblem(msg))
		}
	}
	cfg.ApplyDefaults()
	for _, err := range cfg.Validate() {
		probs = append(probs, idx.fieldProblem(err))
	}
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return nil, &Error{File: name, Problems: probs}
	}
	return cfg, nil
}

// emptyDocument reports whether a document node holds nothing (an empty
// document between or after "---" markers).
func emptyDocument(n *yaml.Node) bool {
	if len(n.Content) == 0 {
		return true
	}
	c := n.Content[0]
	return len(n.Content) == 1 && c.Kind == yaml.ScalarNode && c.Tag == "!!null" && c.Value == ""
}

// maxRoles bounds global.roles: each role is a series of
// mailwatch_host_info, and a host has few jobs.
const maxRoles = 8

// roleRe is what a role may look like: a short label value that reads well
// in rules ("mx", "submission", "imap", "relay", "mx_backup").
var roleRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

func validateRoles(roles []string) []error {
	var errs []error
	if len(roles) > maxRoles {
		errs = append(errs, confval.Errorf("global.roles", "at most %d roles, got %d", maxRoles, len(roles)))
	}
	seen := map[string]bool{}
	for i, r := range roles {
		key := fmt.Sprintf("global.roles[%d]", i)
		switch {
		case !roleRe.MatchString(r):
			errs = append(errs, confval.Errorf(key, "%q: a role is 1 to 32 lower-case letters, digits, _ or -, starting with a letter", r))
		case seen[r]:
			errs = append(errs, confval.Errorf(key, "%q is listed twice", r))
		}
		seen[r] = true
	}
	return errs
}

// ApplyDefaults fills every key left at its zero value.
func (c *Config) ApplyDefaults() {
	if c.Global.StateDir == "" {
		c.Global.StateDir = "/var/lib/mailwatchd"
	}
	if c.Global.StaleAfterIntervals == 0 {
		c.Global.StaleAfterIntervals = 3
	}
	c.Thresholds.ApplyDefaults()
	c.Collectors.Maintenance.StateDir = c.Global.StateDir
	c.Logs.ApplyDefaults()
	for _, s := range c.Collectors.Sections() {
		d := s.Defaults()
		st := s.Common()
		if st.Enabled == nil {
			on := d.Enabled
			st.Enabled = &on
		}
		if st.Interval == 0 {
			st.Interval = confvalDuration(d.Interval)
		}
		if st.Timeout == 0 {
			st.Timeout = confvalDuration(d.Timeout)
			// A raised interval below the default timeout keeps a valid pair.
			if st.Timeout.D() >= st.Interval.D() {
				st.Timeout = confvalDuration(st.Interval.D() * 2 / 3)
			}
		}
		s.ApplyDefaults()
	}
}

// Validate returns every problem, as *confval.FieldError with full paths.
func (c *Config) Validate() []error {
	var errs []error
	if !strings.HasPrefix(c.Global.StateDir, "/") {
		errs = append(errs, confval.Errorf("global.state_dir", "must be an absolute path, got %q", c.Global.StateDir))
	}
	if c.Global.StaleAfterIntervals < 1 {
		errs = append(errs, confval.Errorf("global.stale_after_intervals", "must be at least 1, got %d", c.Global.StaleAfterIntervals))
	} else if c.Global.StaleAfterIntervals > maxStaleAfterIntervals {
		errs = append(errs, confval.Errorf("global.stale_after_intervals", "must be at most %d, got %d", maxStaleAfterIntervals, c.Global.StaleAfterIntervals))
	}
	errs = append(errs, validateRoles(c.Global.Roles)...)
	for _, err := range c.Logs.Validate() {
		errs = append(errs, prefixError("logs", err))
	}
	for _, err := range c.Thresholds.Validate() {
		errs = append(errs, prefixError("thresholds", err))
	}
	for _, s := range c.Collectors.Sections() {
		prefix := "collectors." + s.Name
		st, d := s.Common(), s.Defaults()
		if st.Interval.D() < d.MinInterval {
			errs = append(errs, confval.Errorf(prefix+".interval", "%s is below the minimum of %s for this collector", st.Interval, confvalDuration(d.MinInterval)))
		}
		if n := c.Global.StaleAfterIntervals; n >= 1 && n <= maxStaleAfterIntervals && st.Interval.D() > maxStaleWindow/time.Duration(n) {
			errs = append(errs, confval.Errorf(prefix+".interval", "%s × global.stale_after_intervals (%d) is longer than %s, the longest stale window mailwatchd keeps",
				st.Interval, n, confvalDuration(maxStaleWindow)))
		}
		if st.Timeout.D() <= 0 {
			errs = append(errs, confval.Errorf(prefix+".timeout", "must be positive"))
		} else if st.Timeout.D() >= st.Interval.D() {
			errs = append(errs, confval.Errorf(prefix+".timeout", "%s must be shorter than interval (%s)", st.Timeout, st.Interval))
		}
		for _, err := range s.Validate() {
			errs = append(errs, prefixError(prefix, err))
		}
	}
	return errs
}

func prefixError(prefix string, err error) error {
	var fe *confval.FieldError
	if errors.As(err, &fe) {
		p := prefix
		if fe.Path != "" {
			if strings.HasPrefix(fe.Path, "[") {
				p += fe.Path
			} else {
				p += "." + fe.Path
			}
		}
		return &confval.FieldError{Path: p, Msg: fe.Msg}
	}
	return &confval.FieldError{Path: prefix, Msg: err.Error()}
}
