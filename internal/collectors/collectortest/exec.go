// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectortest

import (
	"bytes"
	"fmt"
	"os/exec"
)

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
