// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// buildDeb runs `deploy/debian/build.sh` into a temporary directory and
// returns the package's path.
func buildDeb(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the package with nfpm: not in -short")
	}
	tool(t, "dpkg-deb", "dpkg")
	out := t.TempDir()
	cmd := exec.Command("debian/build.sh", out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("debian/build.sh: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	deb := lines[len(lines)-1]
	if _, err := os.Stat(deb); err != nil {
		t.Fatalf("build.sh printed %q: %v", deb, err)
	}
	return deb
}

// debFiles lists the regular files of a package (paths without the leading ".").
func debFiles(t *testing.T, deb string) []string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "--contents", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasPrefix(f[0], "-") {
			continue
		}
		files = append(files, strings.TrimPrefix(f[5], "."))
	}
	slices.Sort(files)
	return files
}

// installedFiles lists what `make install` puts under DESTDIR, with the
// defaults the package uses too.
func installedFiles(t *testing.T) []string {
	t.Helper()
	dest := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "install", "DESTDIR="+dest, "UNITDIR=/lib/systemd/system")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	var files []string
	err := filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files = append(files, strings.TrimPrefix(p, dest))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// TestDebianPackage builds the package and checks what is in it: every file
// `make install` installs (so the two cannot drift apart), the config as a
// conffile, maintainer scripts that pass sh -n, a version dpkg accepts, and
// lintian without errors or warnings (the one override is justified in
// debian/lintian-overrides).
func TestDebianPackage(t *testing.T) {
	t.Parallel()
	deb := buildDeb(t)
	files := debFiles(t, deb)

	// make install's files, under the names the package gives them: the
	// package keeps the example among the docs (dpkg owns /etc/mailwatchd/
	// config.yaml as a conffile, so a second copy there would only go stale).
	renamed := map[string]string{"/etc/mailwatchd/config.example.yaml": "/usr/share/doc/mailwatchd/examples/config.example.yaml"}
	for _, f := range installedFiles(t) {
		if r, ok := renamed[f]; ok {
			f = r
		}
		if !slices.Contains(files, f) {
			t.Errorf("make install installs %s, the package does not (deploy/debian/nfpm.yaml)", f)
		}
	}
	for _, want := range []string{"/usr/share/doc/mailwatchd/copyright", "/usr/share/doc/mailwatchd/changelog.gz", "/usr/share/man/man8/mailwatchd.8.gz"} {
		if !slices.Contains(files, want) {
			t.Errorf("package lacks %s", want)
		}
	}

	conffiles, err := exec.Command("dpkg-deb", "--info", deb, "conffiles").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(conffiles)) != "/etc/mailwatchd/config.yaml" {
		t.Errorf("conffiles = %q, want /etc/mailwatchd/config.yaml only", conffiles)
	}
	version, err := exec.Command("dpkg-deb", "--field", deb, "Version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`).MatchString(strings.TrimSpace(string(version))) {
		t.Errorf("version %q is not a native Debian version", version)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if out, err := exec.Command("sh", "-n", filepath.Join("debian", s)).CombinedOutput(); err != nil {
			t.Errorf("sh -n debian/%s: %v\n%s", s, err, out)
		}
	}

	lintian := tool(t, "lintian", "lintian")
	out, err := exec.Command(lintian, "--fail-on", "error,warning", deb).CombinedOutput()
	if err != nil {
		t.Errorf("lintian: %v\n%s", err, out)
	}
}

// TestManPageFlags: the man page names every flag `mailwatchd --help` lists.
func TestManPageFlags(t *testing.T) {
	t.Parallel()
	man, err := os.ReadFile("debian/mailwatchd.8")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "mailwatchd")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/mailwatchd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	help, _ := exec.Command(bin, "--help").CombinedOutput() // --help exits 0 or 2 by flag package rules
	flags := regexp.MustCompile(`(?m)^\s+-([a-z][a-z.-]+)`).FindAllStringSubmatch(string(help), -1)
	if len(flags) < 5 {
		t.Fatalf("found %d flags in --help:\n%s", len(flags), help)
	}
	page := strings.ReplaceAll(string(man), `\-`, "-")
	for _, f := range flags {
		if !strings.Contains(page, "--"+f[1]) {
			t.Errorf("the man page (deploy/debian/mailwatchd.8) does not name --%s", f[1])
		}
	}
	for _, cmd := range []string{"check", "doctor", "replay", "report", "maintenance"} {
		if !strings.Contains(page, ".B "+cmd) && !strings.Contains(page, ".B mailwatchd "+cmd) {
			t.Errorf("the man page does not describe the %s command", cmd)
		}
	}
}
