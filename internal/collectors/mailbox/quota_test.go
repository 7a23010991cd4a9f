// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// fakeDoveadm writes an executable named doveadm into a new directory: it
// logs its arguments to argsFile and runs script (sh). It returns the
// program's path and the args file.
func fakeDoveadm(t *testing.T, script string) (prog, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	prog = filepath.Join(dir, "doveadm")
	argsFile = filepath.Join(dir, "args")
	src := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %q\n%s\n", argsFile, script)
	if err := collectortest.WriteExecutable(prog, []byte(src)); err != nil {
		t.Fatal(err)
	}
	return prog, argsFile
}

// tabOutput is doveadm's tab formatter output with -A.
func tabOutput(rows ...string) string {
	return "printf '" + strings.Join(append([]string{"Username\\tQuota name\\tType\\tValue\\tLimit\\t%%"}, rows...), "\\n") + "\\n'"
}

var allUsersRows = []string{
	`carol\tUser quota\tSTORAGE\t34\t100\t34`,
	`carol\tUser quota\tMESSAGE\t5\t-\t0`,
	// two quota roots: the one closer to its limit counts
	`erin@example.org\tUser quota\tSTORAGE\t16\t100\t16`,
	`erin@example.org\tArchive\tSTORAGE\t900\t1000\t90`,
	`gina@example.net\tUser quota\tSTORAGE\t9\t-\t0`,
	`alice\tUser quota\tSTORAGE\t10\t20\t50`,
	`zed\tUser quota\tMESSAGE\t9\t10\t90`,
}

func quotaCollector(t *testing.T, prog string, users ...string) *Collector {
	t.Helper()
	cfg := testConfig(goldenRoots...)
	cfg.Top = 3
	cfg.Quota = Quota{Enabled: true, Doveadm: prog, Users: users}
	c := collectortest.New(t, New, cfg, nil)
	c.scan.fsys = collectortest.MapFS{M: goldenTree()}
	return c
}

func TestGoldenQuota(t *testing.T) {
	prog, args := fakeDoveadm(t, tabOutput(allUsersRows...))
	c := quotaCollector(t, prog)
	if err := collectortest.Golden(t, c, "quota"); err != nil {
		t.Fatal(err)
	}
	collectortest.Lint(t, c)
	got, _ := os.ReadFile(args)
	if want := "-f tab quota get -A\n-f tab quota get -A\n"; string(got) != want {
		t.Errorf("doveadm called with %q, want %q", got, want)
	}
}

// TestQuotaSomeUsersFailed: doveadm exits 75 when it could not compute a
// user's quota; the users it printed are exported, quota_success is 0.
func TestQuotaSomeUsersFailed(t *testing.T) {
	prog, _ := fakeDoveadm(t, tabOutput(append(allUsersRows, `broken\tUser quota\tSTORAGE\terror\terror\terror`)...)+
		"\necho 'doveadm(broken): Error: Failed to get quota resource STORAGE' >&2\nexit 75")
	got, err := collectortest.Run(context.Background(), quotaCollector(t, prog))
	if err != nil {
		t.Fatal(err)
	}
	if got["mailwatch_mailbox_quota_success{}"] != 0 || got[`mailwatch_mailbox_quota_used_bytes{mailbox="carol"}`] != 34*1024 {
		t.Errorf("want success 0 and carol's usage kept: %v", got)
	}
}

// TestQuotaErrorsOnStderrOnly: Dovecot 2.3's doveadm exits 0 when every
// user failed (e.g. "count quota backend requires quota_vsizes=yes"),
// printing only the header; its stderr is what says so.
func TestQuotaErrorsOnStderrOnly(t *testing.T) {
	prog, _ := fakeDoveadm(t, tabOutput()+
		"\necho 'doveadm(carol): Error: Failed to initialize quota: Quota root User quota: count quota init failed: quota count backend requires quota_vsizes=yes' >&2\nexit 0")
	got, err := collectortest.Run(context.Background(), quotaCollector(t, prog))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got["mailwatch_mailbox_quota_success{}"]; !ok || v != 0 {
		t.Errorf("quota_success = %v (present %v), want 0", v, ok)
	}
}

func TestStderrSink(t *testing.T) {
	t.Parallel()
	var s stderrSink
	for _, chunk := range []string{"doveadm(a): Err", "or: one\nwarning: fine\n", "doveadm(b): Fatal: two"} {
		s.Write([]byte(chunk))
	}
	s.close()
	if s.errors != 2 || s.first != "doveadm(a): Error: one" {
		t.Errorf("got %d errors, first %q", s.errors, s.first)
	}
}

func TestQuotaPerUser(t *testing.T) {
	prog, args := fakeDoveadm(t, `case "$*" in
*"-u carol") printf 'Quota name\tType\tValue\tLimit\t%%\nUser quota\tSTORAGE\t50\t100\t50\nUser quota\tMESSAGE\t3\t4\t75\n' ;;
*"-u erin@example.org") printf 'Quota name\tType\tValue\tLimit\t%%\nUser quota\tSTORAGE\t1\t-\t0\n' ;;
*) exit 67 ;;
esac`)
	got, err := collectortest.Run(context.Background(), quotaCollector(t, prog, "carol", "erin@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"mailwatch_mailbox_quota_success{}":                               1,
		`mailwatch_mailbox_quota_used_bytes{mailbox="carol"}`:             50 * 1024,
		`mailwatch_mailbox_quota_limit_bytes{mailbox="carol"}`:            100 * 1024,
		`mailwatch_mailbox_quota_used_messages{mailbox="carol"}`:          3,
		`mailwatch_mailbox_quota_limit_messages{mailbox="carol"}`:         4,
		`mailwatch_mailbox_quota_usage_ratio{mailbox="carol"}`:            0.75,
		`mailwatch_mailbox_quota_used_bytes{mailbox="example.org/erin"}`:  1024,
		`mailwatch_mailbox_quota_usage_ratio{mailbox="example.org/erin"}`: 0,
		`mailwatch_mailbox_quota_used_bytes{mailbox="_other"}`:            0,
		`mailwatch_mailbox_quota_used_messages{mailbox="_other"}`:         0,
		`mailwatch_mailbox_quota_usage_ratio{mailbox="_other"}`:           0,
	}
	gotQuota := map[string]float64{}
	for k, v := range got {
		if strings.Contains(k, "_quota_") {
			gotQuota[k] = v
		}
	}
	if diff := cmp.Diff(want, gotQuota); diff != "" {
		t.Errorf("quota metrics (-want +got):\n%s", diff)
	}
	calls, _ := os.ReadFile(args)
	if want := "-f tab quota get -u carol\n-f tab quota get -u erin@example.org\n"; string(calls) != want {
		t.Errorf("calls %q, want %q", calls, want)
	}
}

// TestQuotaOnPath: a bare program name is looked up in PATH.
func TestQuotaOnPath(t *testing.T) {
	prog, _ := fakeDoveadm(t, tabOutput(allUsersRows...))
	t.Setenv("PATH", filepath.Dir(prog))
	got, err := collectortest.Run(context.Background(), quotaCollector(t, "doveadm"))
	if err != nil || got["mailwatch_mailbox_quota_success{}"] != 1 {
		t.Errorf("doveadm from PATH: err %v, metrics %v", err, got)
	}
}

// TestQuotaNotApplicable: without doveadm, or with Dovecot's quota plugin
// off, the quota part is left out quietly and the sizes are still there.
func TestQuotaNotApplicable(t *testing.T) {
	noPlugin, _ := fakeDoveadm(t, `echo "Fatal: Unknown command 'quota', but plugin quota exists. Try to set mail_plugins=quota" >&2; exit 75`)
	emptyPath := t.TempDir()
	t.Setenv("PATH", emptyPath)
	for _, prog := range []string{"/nonexistent/doveadm", "doveadm", noPlugin} {
		got, err := collectortest.Run(context.Background(), quotaCollector(t, prog))
		if err != nil {
			t.Fatalf("%s: %v", prog, err)
		}
		for k := range got {
			if strings.Contains(k, "_quota_") {
				t.Errorf("%s: quota metric %s exported without quota", prog, k)
			}
		}
		if got[`mailwatch_mailbox_size_bytes{mailbox="carol"}`] == 0 {
			t.Errorf("%s: sizes missing", prog)
		}
	}
}

// TestQuotaHangs: a doveadm that never answers is killed before the run's
// deadline; the sizes are reported and quota_success is 0.
func TestQuotaHangs(t *testing.T) {
	prog, _ := fakeDoveadm(t, "exec sleep 60")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	got, err := collectortest.Run(ctx, quotaCollector(t, prog))
	if err != nil {
		t.Fatalf("hung doveadm must not fail the run: %v", err)
	}
	if v, ok := got["mailwatch_mailbox_quota_success{}"]; !ok || v != 0 {
		t.Errorf("quota_success = %v (present %v), want 0", v, ok)
	}
	if got[`mailwatch_mailbox_size_bytes{mailbox="carol"}`] == 0 {
		t.Error("sizes missing")
	}
}

func TestParseQuota(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		user    string
		want    map[string]quotaUsage
		wantErr string
	}{
		{
			name: "all users",
			in:   "Username\tQuota name\tType\tValue\tLimit\t%\na\tq\tSTORAGE\t1\t2\t50\na\tq\tMESSAGE\t3\t-\t0\nb\tq\tSTORAGE\terror\terror\terror\n",
			want: map[string]quotaUsage{
				"a": {storage: resource{1024, 2048, true}, messages: resource{3, 0, true}},
				"b": {failed: true},
			},
		},
		{
			name: "one user, no Username column",
			in:   "Quota name\tType\tValue\tLimit\t%\nUser quota\tSTORAGE\t0\t1048576\t0\n",
			user: "alice",
			want: map[string]quotaUsage{"alice": {storage: resource{0, 1 << 30, true}}},
		},
		{name: "empty", in: "", wantErr: "printed nothing"},
		{name: "table formatter", in: "Quota name Type    Value Limit %\nUser quota STORAGE 1 2 50\n", wantErr: "no Type, Value and Limit columns"},
		{name: "short row", in: "Type\tValue\tLimit\nSTORAGE\t1\n", want: map[string]quotaUsage{}, wantErr: "1 malformed rows"},
		{name: "bad number", in: "Type\tValue\tLimit\nSTORAGE\tx\t1\n", want: map[string]quotaUsage{"": {}}, wantErr: "1 malformed rows"},
		{name: "unknown resource ignored", in: "Type\tValue\tLimit\nFILES\t1\t2\n", want: map[string]quotaUsage{"": {}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := map[string]*quotaUsage{}
			err := parseQuota(strings.NewReader(tc.in), tc.user, out, 10)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if tc.want == nil {
				return
			}
			got := map[string]quotaUsage{}
			for k, v := range out {
				got[k] = *v
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(quotaUsage{}, resource{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	out := map[string]*quotaUsage{}
	err := parseQuota(strings.NewReader("Username\tType\tValue\tLimit\na\tSTORAGE\t1\t1\nb\tSTORAGE\t1\t1\nc\tSTORAGE\t1\t1\n"), "", out, 2)
	if err == nil || !strings.Contains(err.Error(), "more than 2 users") {
		t.Errorf("user limit: got %v", err)
	}
}

func TestQuotaMailboxes(t *testing.T) {
	t.Parallel()
	for user, want := range map[string][]string{
		"alice":             {"alice"},
		"alice@example.org": {"alice@example.org", "example.org/alice"},
		"@x":                {"@x"},
		"x@":                {"x@"},
	} {
		if got := quotaMailboxes(user); !cmp.Equal(got, want) {
			t.Errorf("quotaMailboxes(%q) = %q, want %q", user, got, want)
		}
	}
}
