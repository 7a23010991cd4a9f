// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package configdrift

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// Host is the Source of this host.
type Host struct {
	Postconf, PostfixDir string
	Doveconf, DovecotDir string
	Opendkim             string
	Postfix              string
	// Root: the daemon runs as root, so postfix check can run.
	Root bool
}

// Bounds: what is read of a program's output or file, and how many files
// of Dovecot's directory are looked at for their change time.
const (
	maxOutput   = 4 << 20
	maxDirFiles = 2000
)

var cmdEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "LANG=C"}

// Read implements Source. A program whose command or file is missing is
// not on this host and is left out.
func (h *Host) Read(ctx context.Context) []Reading {
	var out []Reading
	if present(h.Postconf) {
		r := Reading{Program: Postfix}
		if b, err := run(ctx, h.Postconf, "postconf -n", "-n"); err != nil {
			r.Err = err
		} else {
			r.Hash = Hash(b)
		}
		r.Changed = newest(filepath.Join(h.PostfixDir, "main.cf"), filepath.Join(h.PostfixDir, "master.cf"))
		out = append(out, r)
	}
	if present(h.Doveconf) {
		r := Reading{Program: Dovecot}
		if b, err := run(ctx, h.Doveconf, "doveconf -n", "-n"); err != nil {
			r.Err = err
		} else {
			r.Hash = Hash(b)
		}
		r.Changed = newestUnder(h.DovecotDir)
		out = append(out, r)
	}
	if present(h.Opendkim) {
		r := Reading{Program: OpenDKIM}
		if b, err := readFile(h.Opendkim); err != nil {
			r.Err = err
		} else {
			r.Hash = Hash(b)
		}
		r.Changed = newest(h.Opendkim)
		out = append(out, r)
	}
	return out
}

// PostfixCheck implements Source. `postfix check` exits 1 without a word
// for any user but root (postfix(1)); as root it checks the installation
// (postfix-script check-fatal, then check-warn) and exits 0 even when it
// only warns, so a "warning:" on its output counts as a failure too.
func (h *Host) PostfixCheck(ctx context.Context) (ran, ok bool, err error) {
	if !h.Root || !present(h.Postfix) {
		return false, false, nil
	}
	var stderr lockedBuffer
	out, err := collectors.Command{Path: h.Postfix, Args: []string{"check"}, Name: "postfix check",
		Env: cmdEnv, Dir: "/", OwnGroup: true, Stderr: &stderr}.Output(ctx)
	if ctx.Err() != nil {
		return false, false, err // the run's deadline, not postfix's verdict
	}
	if err != nil {
		return true, false, err
	}
	all := append(out, stderr.Bytes()...)
	if i := bytes.Index(all, []byte("warning:")); i >= 0 {
		line, _, _ := bytes.Cut(all[i:], []byte("\n"))
		return true, false, fmt.Errorf("postfix check: %s", strings.TrimSpace(string(line)))
	}
	return true, true, nil
}

// lockedBuffer is a bytes.Buffer safe for the writer and the reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < maxOutput {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}

func present(path string) bool {
	if path == Off {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}

func run(ctx context.Context, path, name string, args ...string) ([]byte, error) {
	return collectors.Command{Path: path, Args: args, Name: name, Env: cmdEnv, Dir: "/", MaxOutput: maxOutput}.Output(ctx)
}

func readFile(path string) ([]byte, error) { return collectors.ReadFileMax(path, maxOutput) }

// Hash is the first 12 hex digits of the SHA-256 of a configuration's
// lines, without comment lines (starting with #), blank lines and
// trailing blanks.
func Hash(conf []byte) string {
	h := sha256.New()
	sc := bufio.NewScanner(bytes.NewReader(conf))
	sc.Buffer(make([]byte, 64<<10), maxOutput)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if t := strings.TrimLeft(line, " \t"); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		io.WriteString(h, line)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// newest returns the newest modification time of the files, in Unix
// seconds; 0 when none can be read.
func newest(paths ...string) float64 {
	var t float64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			t = max(t, float64(fi.ModTime().UnixMilli())/1e3)
		}
	}
	return t
}

// newestUnder walks dir (at most maxDirFiles entries) for the newest
// modification time of a file or directory: a removed file changes its
// directory's time.
func newestUnder(dir string) float64 {
	var t float64
	n := 0
	errStop := errors.New("stop")
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: skipped
		}
		if n++; n > maxDirFiles {
			return errStop
		}
		if fi, err := d.Info(); err == nil {
			t = max(t, float64(fi.ModTime().UnixMilli())/1e3)
		}
		return nil
	})
	return t
}

var _ Source = (*Host)(nil)
