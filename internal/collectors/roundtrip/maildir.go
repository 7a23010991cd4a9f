// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package roundtrip

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
)

// Limits on what is read of a message.
const (
	maxHeaderBytes  = 64 << 10 // the header block searched for the marker
	maxMessageBytes = 4 << 20  // a whole probe read for its checks
)

// mailbox is where probes arrive: a Maildir on disk or an IMAP folder. A
// ref names one message for fetch and remove.
type mailbox interface {
	// find returns the messages whose marker header contains substr.
	find(ctx context.Context, substr string) ([]string, error)
	// marker returns the value of the message's marker header.
	marker(ctx context.Context, ref string) (string, error)
	// fetch returns the whole message, at most maxMessageBytes.
	fetch(ctx context.Context, ref string) ([]byte, error)
	// remove deletes the message, and nothing else.
	remove(ctx context.Context, ref string) error
	close()
}

// maildir finds probes among the files of new/ and cur/ (Maildir's
// delivery: a file is written in tmp/ and renamed into new/; a reader that
// saw it moves it to cur/ with ":2,<flags>" appended, so a probe is looked
// for in both). Files that were read and hold no probe are remembered for
// the run, so polling reads only what is new.
type maildir struct {
	root        string
	maxMessages int
	other       map[string]bool // dir/name read this run, not a probe
}

func newMaildir(root string, maxMessages int) *maildir {
	return &maildir{root: root, maxMessages: maxMessages, other: map[string]bool{}}
}

func (m *maildir) close() {}

func (m *maildir) find(ctx context.Context, substr string) ([]string, error) {
	var found []string
	total := 0
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(m.root, sub)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("list Maildir: %w", err)
		}
		total += len(entries)
		if total > m.maxMessages {
			return nil, fmt.Errorf("Maildir %s holds more than %d messages (mailbox.max_messages): the probe mailbox should hold nothing but probes", m.root, m.maxMessages)
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
				continue
			}
			ref := sub + "/" + e.Name()
			if m.other[ref] {
				continue
			}
			v, err := markerOf(filepath.Join(m.root, ref))
			switch {
			case errors.Is(err, fs.ErrNotExist):
				continue // moved to cur/ or deleted meanwhile: the next listing sees it
			case err != nil:
				return nil, err
			case v != "" && strings.Contains(v, substr):
				found = append(found, ref)
			case v == "":
				m.other[ref] = true
			}
		}
	}
	return found, nil
}

// markerOf returns the value of the marker header of the message in path,
// or "" when it has none.
func markerOf(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := textproto.NewReader(bufio.NewReader(io.LimitReader(f, maxHeaderBytes)))
	h, err := tr.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return "", nil // empty or cut short: no header to speak of
		}
		var perr textproto.ProtocolError
		if errors.As(err, &perr) {
			return "", nil // not a header block: not a probe
		}
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return h.Get(markerHeader), nil
}

func (m *maildir) path(ref string) (string, error) {
	sub, name, ok := strings.Cut(ref, "/")
	if !ok || (sub != "new" && sub != "cur") || name == "" || strings.ContainsRune(name, '/') {
		return "", fmt.Errorf("bad Maildir reference %q", ref)
	}
	return filepath.Join(m.root, sub, name), nil
}

func (m *maildir) marker(_ context.Context, ref string) (string, error) {
	p, err := m.path(ref)
	if err != nil {
		return "", err
	}
	return markerOf(p)
}

func (m *maildir) fetch(_ context.Context, ref string) ([]byte, error) {
	p, err := m.path(ref)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read probe: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMessageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read probe: %w", err)
	}
	if len(b) > maxMessageBytes {
		return nil, fmt.Errorf("probe %s is larger than %d bytes", p, maxMessageBytes)
	}
	return b, nil
}

// remove deletes the file; one that a reader moved from new/ to cur/ in
// the meantime is looked for there under its base name.
func (m *maildir) remove(_ context.Context, ref string) error {
	p, err := m.path(ref)
	if err != nil {
		return err
	}
	err = os.Remove(p)
	if errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(ref, "new/") {
		base := strings.TrimPrefix(ref, "new/")
		matches, _ := filepath.Glob(filepath.Join(m.root, "cur", globEscape(base)+":2,*"))
		if len(matches) == 1 {
			err = os.Remove(matches[0])
		}
	}
	if err != nil {
		return fmt.Errorf("delete probe: %w", err)
	}
	return nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}
