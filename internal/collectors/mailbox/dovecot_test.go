// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// TestRealDoveadm checks the quota part against Dovecot itself where it is
// installed: a private Dovecot (its own base_dir, no protocols, so nothing
// listens on the network and the host's Dovecot is not touched) serves a
// passwd-file userdb with two users, and the real doveadm reports their
// quota, which must join to the mailboxes the walk found.
func TestRealDoveadm(t *testing.T) {
	const dovecotBin, doveadmBin = "/usr/sbin/dovecot", "/usr/bin/doveadm"
	if testing.Short() {
		t.Skip("starts a private Dovecot")
	}
	for _, p := range []string{dovecotBin, doveadmBin} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("Dovecot not installed: %v", err)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("Dovecot must start as root to switch to the mail user")
	}
	dir := t.TempDir()
	// doveadm drops to the mail user (nobody), who must reach the homes.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	homes := map[string]string{
		"tester":          filepath.Join(dir, "home", "tester"),
		"vip@example.org": filepath.Join(dir, "vhosts", "example.org", "vip"),
	}
	sizes := map[string]int64{}
	msgs := map[string]int{"tester": 3, "vip@example.org": 5}
	var passwd string
	for user, home := range homes {
		var ms []message
		for i := range msgs[user] {
			// Real messages: Dovecot parses them, and checks ,S= against the file.
			ms = append(ms, message{body: fmt.Sprintf("From: a@example.org\nSubject: %d\n\n%s\n", i, body(700*(i+1))), sizeName: i%2 == 0})
		}
		sizes[user] = writeMaildir(t, filepath.Join(home, "Maildir"), ms, nil)
		passwd += fmt.Sprintf("%s:{PLAIN}x:65534:65534::%s::\n", user, home)
	}
	for _, top := range []string{"home", "vhosts"} {
		if err := chownTree(filepath.Join(dir, top), 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "dovecot.conf")
	writeFile(t, filepath.Join(dir, "passwd"), passwd)
	writeFile(t, conf, fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
protocols =
ssl = no
log_path = %[1]s/dovecot.log
mail_location = maildir:~/Maildir
mail_plugins = quota
passdb {
  driver = passwd-file
  args = %[1]s/passwd
}
userdb {
  driver = passwd-file
  args = %[1]s/passwd
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=1M
  quota_rule2 = *:messages=100
}
`, dir))
	for _, d := range []string{"run", "state"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	master := exec.Command(dovecotBin, "-F", "-c", conf)
	if err := master.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = master.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = master.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = master.Process.Kill()
			<-done
		}
	})
	waitFor(t, filepath.Join(dir, "run", "auth-userdb"))

	wrapper := filepath.Join(dir, "doveadm")
	writeFile(t, wrapper, fmt.Sprintf("#!/bin/sh\nexec %s -c %s \"$@\"\n", doveadmBin, conf))
	if err := os.Chmod(wrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(
		Root{Path: dir + "/home/*/Maildir"},
		Root{Path: dir + "/vhosts/*/*/Maildir"},
	)
	cfg.Quota = Quota{Enabled: true, Doveadm: wrapper}
	c := collectortest.New(t, New, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := collectortest.Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if got["mailwatch_mailbox_quota_success{}"] != 1 {
		log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
		t.Fatalf("real doveadm failed: %v\ndovecot.log:\n%s", got, log)
	}
	for user, label := range map[string]string{"tester": "tester", "vip@example.org": "example.org/vip"} {
		l := `{mailbox="` + label + `"}`
		if got["mailwatch_mailbox_size_bytes"+l] != float64(sizes[user]) || got["mailwatch_mailbox_messages"+l] != float64(msgs[user]) {
			t.Errorf("%s: walk says %v bytes %v messages, files %d and %d", label, got["mailwatch_mailbox_size_bytes"+l], got["mailwatch_mailbox_messages"+l], sizes[user], msgs[user])
		}
		// Dovecot reports KiB, rounded up.
		if used := got["mailwatch_mailbox_quota_used_bytes"+l]; used < float64(sizes[user]) || used >= float64(sizes[user]+1024) {
			t.Errorf("%s: quota says %v bytes used, files hold %d", label, used, sizes[user])
		}
		if got["mailwatch_mailbox_quota_used_messages"+l] != float64(msgs[user]) ||
			got["mailwatch_mailbox_quota_limit_bytes"+l] != 1<<20 || got["mailwatch_mailbox_quota_limit_messages"+l] != 100 {
			t.Errorf("%s: quota metrics %v", label, got)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func chownTree(root string, uid, gid int) error {
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// waitFor polls until path exists: Dovecot creates its sockets once ready.
func waitFor(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
	}
}
