// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package filesystem

import (
	"testing"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// TestInvalidUTF8Mountpoint: a mount point from mountinfo is any bytes; one
// that is not valid UTF-8 is exported escaped (see collectors.LabelValue)
// rather than failing the run.
func TestInvalidUTF8Mountpoint(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.usage["/srv/mail"] = Usage{SizeBytes: 1000, AvailBytes: 250, Files: 100, FilesFree: 40, Mountpoint: "/srv/\xff"}
	f.usage["/var/log"] = Usage{SizeBytes: 2000, AvailBytes: 10, Files: 10, FilesFree: 1, Mountpoint: "/"}
	c := NewWithStatter(cfg("/srv/mail", "/var/log"), f, zap.NewNop())
	collectortest.Compare(t, c, `
# HELP mailwatch_filesystem_size_bytes Size of the filesystem holding the path, in bytes. Refreshed every collectors.filesystem.interval.
# TYPE mailwatch_filesystem_size_bytes gauge
mailwatch_filesystem_size_bytes{mountpoint="/",path="/var/log"} 2000
mailwatch_filesystem_size_bytes{mountpoint="/srv/\\xff",path="/srv/mail"} 1000
# HELP mailwatch_filesystem_stat_success 1 if the last statfs of the path succeeded, 0 if it failed or hung. Refreshed every collectors.filesystem.interval.
# TYPE mailwatch_filesystem_stat_success gauge
mailwatch_filesystem_stat_success{path="/srv/mail"} 1
mailwatch_filesystem_stat_success{path="/var/log"} 1
`, "mailwatch_filesystem_size_bytes", "mailwatch_filesystem_stat_success")
}
