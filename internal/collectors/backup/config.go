// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package backup

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "backup"

const (
	maxSets = 100

	defaultVerifyInterval = 24 * time.Hour
	defaultVerifyTimeout  = 2 * time.Hour
	defaultVerifyRate     = 64 << 20 // bytes per second read from disk
	defaultSettleTime     = 5 * time.Minute
	minVerifyRate         = 64 << 10
)

// Set is one named backup set.
type Set struct {
	// Name is the backup label (snake_case).
	Name string `yaml:"name"`
	// Path is an absolute glob whose wildcards are in the file name only,
	// e.g. /root/mail-backup-*.tar.gz.
	Path string `yaml:"path"`
	// Verify reads the newest archive to the end at verify_interval.
	Verify bool `yaml:"verify"`
	// Format overrides the format told by the file name: tar.gz, tar.bz2,
	// tar.xz, tar.zst, tar, gz, bz2, xz or zst.
	Format string `yaml:"format"`
	// MinSizeBytes fails verification of a smaller archive.
	MinSizeBytes int64 `yaml:"min_size_bytes"`
	// MinEntries fails verification of a tar archive with fewer entries.
	MinEntries int64 `yaml:"min_entries"`
}

// Config is the collectors.backup section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Sets are the backup sets; none by default.
	Sets []Set `yaml:"sets"`
	// VerifyInterval is how often the same newest archive is read again;
	// a new newest archive is verified as soon as it has settled.
	VerifyInterval confval.Duration `yaml:"verify_interval"`
	// VerifyTimeout bounds one verification, which runs in the background
	// and may outlast a run.
	VerifyTimeout confval.Duration `yaml:"verify_timeout"`
	// VerifyReadBytesPerSecond caps the disk read rate of a verification.
	VerifyReadBytesPerSecond int64 `yaml:"verify_read_bytes_per_second"`
	// SettleTime: an archive modified more recently is still being
	// written, and is not verified yet.
	SettleTime confval.Duration `yaml:"settle_time"`
}

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: on (with no sets it reports that it has nothing to watch),
// every 15 minutes. A run only lists directories; verification has its own
// clock (verify_interval) and runs in the background.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 15 * time.Minute, Timeout: time.Minute, MinInterval: time.Minute}
}

// ApplyDefaults fills the keys left at their zero value.
func (c *Config) ApplyDefaults() {
	if c.VerifyInterval == 0 {
		c.VerifyInterval = confval.Duration(defaultVerifyInterval)
	}
	if c.VerifyTimeout == 0 {
		c.VerifyTimeout = confval.Duration(defaultVerifyTimeout)
	}
	if c.VerifyReadBytesPerSecond == 0 {
		c.VerifyReadBytesPerSecond = defaultVerifyRate
	}
	if c.SettleTime == 0 {
		c.SettleTime = confval.Duration(defaultSettleTime)
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate checks the sets and the verification settings.
func (c *Config) Validate() []error {
	var errs []error
	if len(c.Sets) > maxSets {
		errs = append(errs, confval.Errorf("sets", "lists %d sets, at most %d", len(c.Sets), maxSets))
	}
	names := map[string]bool{}
	for i, s := range c.Sets {
		errs = append(errs, s.validate("sets["+strconv.Itoa(i)+"]", names)...)
	}
	if c.VerifyInterval.D() < time.Minute {
		errs = append(errs, confval.Errorf("verify_interval", "must be at least 1m, got %s", c.VerifyInterval))
	}
	if c.VerifyTimeout.D() < time.Second {
		errs = append(errs, confval.Errorf("verify_timeout", "must be at least 1s, got %s", c.VerifyTimeout))
	}
	if c.VerifyReadBytesPerSecond < minVerifyRate {
		errs = append(errs, confval.Errorf("verify_read_bytes_per_second", "must be at least %d, got %d", minVerifyRate, c.VerifyReadBytesPerSecond))
	}
	return errs
}

func (s *Set) validate(at string, names map[string]bool) []error {
	var errs []error
	switch {
	case !snakeCase.MatchString(s.Name):
		errs = append(errs, confval.Errorf(at+".name", "must be snake_case, got %q", s.Name))
	case names[s.Name]:
		errs = append(errs, confval.Errorf(at+".name", "%q is used twice", s.Name))
	}
	names[s.Name] = true
	dir, base := filepath.Split(s.Path)
	if perrs := confval.CheckPath(at+".path", s.Path); perrs != nil {
		errs = append(errs, perrs...)
	} else if strings.ContainsAny(dir, `*?[\`) {
		errs = append(errs, confval.Errorf(at+".path", "wildcards are allowed in the file name only, got %q", s.Path))
	} else if _, err := filepath.Match(base, ""); err != nil {
		errs = append(errs, confval.Errorf(at+".path", "bad pattern %q", base))
	}
	if s.Format != "" && !knownFormat(s.Format) {
		errs = append(errs, confval.Errorf(at+".format", "must be one of %s, got %q", strings.Join(formats, ", "), s.Format))
	}
	format := s.format()
	if s.Verify && format == "" && s.Format == "" {
		errs = append(errs, confval.Errorf(at+".format", "cannot tell the archive format from %q; set format", base))
	}
	if s.MinSizeBytes < 0 {
		errs = append(errs, confval.Errorf(at+".min_size_bytes", "must not be negative, got %d", s.MinSizeBytes))
	}
	if s.MinEntries < 0 {
		errs = append(errs, confval.Errorf(at+".min_entries", "must not be negative, got %d", s.MinEntries))
	} else if s.MinEntries > 0 && !strings.HasPrefix(format, "tar") {
		errs = append(errs, confval.Errorf(at+".min_entries", "needs a tar format, got %q", format))
	}
	if (s.MinSizeBytes > 0 || s.MinEntries > 0) && !s.Verify {
		errs = append(errs, confval.Errorf(at+".verify", "min_size_bytes and min_entries are checked by verification; set verify: true"))
	}
	return errs
}

// format is the configured format, else the one the pattern's suffix says.
func (s *Set) format() string {
	if s.Format != "" {
		return s.Format
	}
	return formatFromName(s.Path)
}
