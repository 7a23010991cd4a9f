// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectortest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// sectionStart matches a key directly under `collectors:` in config.example.yaml
// (two spaces of indentation); topLevel matches the next top-level key.
var (
	sectionStart = regexp.MustCompile(`^  ([a-z][a-z0-9_]*):\s*(#.*)?$`)
	topLevel     = regexp.MustCompile(`^[a-z][a-z0-9_]*:`)
)

// ExampleSection returns the collectors.<name> block of the repository's
// config.example.yaml as written there (two-space indented, with its
// comments), so that a collector package can check that the example it
// ships says exactly what its defaults are. The file is found by walking up
// from the working directory to go.mod.
func ExampleSection(name string) ([]byte, error) {
	path, err := exampleFile()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var (
		out         []string
		inCollector bool
		inSection   bool
	)
	for _, line := range strings.Split(string(data), "\n") {
		if topLevel.MatchString(line) {
			if inSection {
				break
			}
			inCollector = strings.HasPrefix(line, "collectors:")
			continue
		}
		if !inCollector {
			continue
		}
		if m := sectionStart.FindStringSubmatch(line); m != nil {
			if inSection {
				break
			}
			inSection = m[1] == name
		}
		if inSection {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no collectors.%s section", path, name)
	}
	return []byte(strings.Join(out, "\n") + "\n"), nil
}

// exampleFile is config.example.yaml at the module root.
func exampleFile() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "config.example.yaml"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("config.example.yaml: no go.mod above the working directory")
		}
		dir = parent
	}
}

// WriteExecutable creates an executable file (a stand-in for apt-get,
// postconf, doveadm, ...) at path with the given content. A child process
// writes it: an executable written by this process could be held open for
// writing by a child that a parallel test forks at that moment, and exec of
// it would fail with ETXTBSY ("text file busy").
func WriteExecutable(path string, content []byte) error {
	cmd := exec.Command("/bin/sh", "-c", `cat > "$1" && chmod 0755 "$1"`, "sh", path)
	cmd.Stdin = bytes.NewReader(content)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("write %s: %v: %s", path, err, out)
	}
	return nil
}
