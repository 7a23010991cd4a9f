// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectortest

import (
	"errors"
	"fmt"
	"os"
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
