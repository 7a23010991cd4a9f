// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// TestInvalidUTF8MailboxName: mailbox and domain directories whose names
// are not valid UTF-8 are exported under their escaped names (see
// collectors.LabelValue), next to the others, and a directory named with
// that escaped spelling, or with U+FFFD, keeps a series of its own.
func TestInvalidUTF8MailboxName(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	boxes := map[string]int{ // directory under root -> message size
		"example.org/alice":    10,
		"example.org/b\xffb":   20,
		"example.org/b\xfeb":   25,
		"example.org/b\uFFFDb": 35, // a real U+FFFD
		`example.org/b\xffb`:   30, // the four characters \xff
		"ex\xe9mple.org/carol": 40, // Latin-1 é
	}
	if err := os.MkdirAll(filepath.Join(root, "example.org/b\xffb"), 0o700); err != nil {
		t.Skipf("the file system refuses a name that is not UTF-8: %v", err)
	}
	for dir, n := range boxes {
		writeMaildir(t, filepath.Join(root, dir), []message{{body: body(n)}}, nil)
	}
	cfg := testConfig(Root{Path: root + "/*/*", Format: FormatMaildir})
	cfg.Domains = 5
	a := &collectortest.Adapter{C: newCollector(cfg, OSFS{}, nil, later, zap.NewNop())}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(a)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if a.Err != nil {
		t.Fatalf("run failed: %v", a.Err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			got[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	for k, want := range map[string]float64{
		`mailwatch_mailbox_size_bytes{mailbox="example.org/alice"}`:      10,
		`mailwatch_mailbox_size_bytes{mailbox="example.org/b\xffb"}`:     20,
		`mailwatch_mailbox_size_bytes{mailbox="example.org/b\\xffb"}`:    30,
		`mailwatch_mailbox_size_bytes{mailbox="example.org/b\xfeb"}`:     25,
		"mailwatch_mailbox_size_bytes{mailbox=\"example.org/b\uFFFDb\"}": 35,
		`mailwatch_mailbox_size_bytes{mailbox="ex\xe9mple.org/carol"}`:   40,
		`mailwatch_mailbox_domain_size_bytes{domain="example.org"}`:      120,
		`mailwatch_mailbox_domain_size_bytes{domain="ex\xe9mple.org"}`:   40,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	if t.Failed() {
		t.Logf("all series: %v", got)
	}
}
