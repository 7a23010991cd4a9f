// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/logparse"
)

// rotatedSuffix matches what logrotate appends to a rotated file: ".1",
// ".2.gz" (the default numbering) or "-20261205", "-2026120512.gz"
// (dateext, with or without the hour).
var rotatedSuffix = regexp.MustCompile(`^(\.[0-9]+|-[0-9]{8}([0-9]{2})?)(\.gz)?$`)

// compressedName tells a live file matched by a glob from a compressed one,
// which the daemon does not follow either.
func compressedName(p string) bool {
	for _, ext := range []string{".gz", ".bz2", ".xz", ".zst"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// LogFiles returns the files to read for the configured paths (absolute
// paths or globs, as logs.sources has them): each live file preceded by its
// rotated siblings (mail.log.1, mail.log.2.gz, mail.log-20261205.gz), oldest
// first (by logrotate's number, then by the date in the name). A sibling
// last modified before since holds no line of the window and is left out. Siblings compressed otherwise than
// with gzip, which the report cannot read, are returned in skipped.
func LogFiles(paths []string, since time.Time) (files, skipped []string, err error) {
	seen := map[string]bool{}
	for _, p := range paths {
		live := []string{p}
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", p, err)
			}
			live = live[:0]
			for _, f := range m {
				if !compressedName(f) && !rotatedSibling(f, m) {
					live = append(live, f)
				}
			}
		}
		for _, f := range live {
			if seen[f] {
				continue
			}
			seen[f] = true
			sib, skip, err := siblings(f, since)
			if err != nil {
				return nil, nil, err
			}
			skipped = append(skipped, skip...)
			for _, s := range sib {
				if !seen[s] {
					seen[s] = true
					files = append(files, s)
				}
			}
			if _, err := os.Stat(f); err == nil {
				files = append(files, f)
			} else if !errors.Is(err, os.ErrNotExist) {
				return nil, nil, err
			}
		}
	}
	return files, skipped, nil
}

// rotatedSibling reports whether f is a rotated file of another match of
// the same glob ("mail.log.1" of "mail.log"): it is read with that one.
func rotatedSibling(f string, all []string) bool {
	for _, o := range all {
		if o != f && strings.HasPrefix(f, o) && rotatedSuffix.MatchString(f[len(o):]) {
			return true
		}
	}
	return false
}

// siblings returns the rotated files of live, oldest first.
func siblings(live string, since time.Time) (files, skipped []string, err error) {
	dir, base := filepath.Split(live)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	type file struct{ path string }
	var found []file
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, base) || name == base || e.IsDir() {
			continue
		}
		tail := name[len(base):]
		p := filepath.Join(dir, name)
		if !rotatedSuffix.MatchString(tail) {
			if t := strings.TrimLeft(tail, ".-0123456789"); t == "bz2" || t == "xz" || t == "zst" {
				skipped = append(skipped, p)
			}
			continue
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if !since.IsZero() && fi.ModTime().Before(since) {
			continue
		}
		found = append(found, file{p})
	}
	// logrotate's numbers and dates say the order; modification times do
	// not, as compressing a rotated file (delaycompress) writes it anew.
	sort.SliceStable(found, func(i, j int) bool {
		ni, nj := rotationRank(found[i].path), rotationRank(found[j].path)
		if ni != nj {
			return ni > nj // mail.log.3.gz before mail.log.2.gz before mail.log.1
		}
		return found[i].path < found[j].path // -20261204 before -20261205
	})
	for _, f := range found {
		files = append(files, f.path)
	}
	return files, skipped, nil
}

var rotationNumber = regexp.MustCompile(`\.([0-9]+)(\.gz)?$`)

// rotationRank is logrotate's number of a rotated file ("mail.log.2.gz"
// is 2; a dateext file is 0): a higher number is older.
func rotationRank(p string) int {
	m := rotationNumber.FindStringSubmatch(p)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// FeedFile reads one file, plain or gzip-compressed, into b.
func (b *Builder) FeedFile(ctx context.Context, path string) error {
	f, err := logparse.OpenInput(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := b.Feed(ctx, path, f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// journalFields are the fields the report reads of a journal entry, as the
// daemon's journal follower asks for them.
const journalFields = "MESSAGE,SYSLOG_IDENTIFIER,SYSLOG_PID,_PID,_COMM,_HOSTNAME"

// JournalArgs returns journalctl's arguments for a journal source over the
// window: the daemon's output format and matches (units OR identifiers),
// bounded by --since and --until instead of followed.
func JournalArgs(sc logparse.SourceConfig, since, until time.Time) []string {
	args := []string{"--output=json", "--output-fields=" + journalFields, "--all", "--no-pager", "--quiet"}
	if !since.IsZero() {
		args = append(args, fmt.Sprintf("--since=@%d", since.Unix()))
	}
	if !until.IsZero() {
		args = append(args, fmt.Sprintf("--until=@%d", until.Unix()))
	}
	for _, u := range sc.Units {
		args = append(args, "_SYSTEMD_UNIT="+u)
	}
	if len(sc.Units) > 0 && len(sc.Identifiers) > 0 {
		args = append(args, "+")
	}
	for _, id := range sc.Identifiers {
		args = append(args, "SYSLOG_IDENTIFIER="+id)
	}
	return args
}

// FeedJournal runs journalctl (the path, or "journalctl" from PATH when
// empty) for a journal source and reads its entries into b. journalctl is
// killed when ctx ends.
func (b *Builder) FeedJournal(ctx context.Context, journalctl string, sc logparse.SourceConfig) error {
	if journalctl == "" {
		journalctl = "journalctl"
	}
	cmd := exec.CommandContext(ctx, journalctl, JournalArgs(sc, b.opt.Since, b.opt.Until)...) //nolint:gosec // fixed program, arguments from the validated config
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start journalctl: %w", err)
	}
	feedErr := b.Feed(ctx, "journal:"+sc.Name, out)
	if feedErr != nil {
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	if feedErr != nil {
		return feedErr
	}
	if waitErr != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return fmt.Errorf("journalctl: %v: %s", waitErr, msg)
	}
	return nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

var _ io.Writer = (*limitedBuffer)(nil)
