// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package updates

import (
	"bufio"
	"errors"
	"io"
	"regexp"
	"strings"
)

// Pending is what an upgrade would install now.
type Pending struct {
	// All counts the packages an upgrade would install or upgrade.
	All int
	// Security counts those whose new version comes from a security
	// archive (Debian's bookworm-security, Ubuntu's jammy-security, ESM).
	Security int
}

// summaryLine is apt-get's closing line, which every successful run prints
// (in the C locale the collector runs it in), with optional parts such as
// "1 downgraded, " between the two ends.
var summaryLine = regexp.MustCompile(`^[0-9]+ upgraded, [0-9]+ newly installed, .*[0-9]+ not upgraded\.$`)

// ErrNoSummary means the output did not come from apt-get -s, or apt-get
// changed its output: nothing in it can be trusted.
var ErrNoSummary = errors.New("no summary line (\"N upgraded, N newly installed, ...\") in apt-get's output")

// ParseSimulation reads the output of apt-get -s dist-upgrade. Each package
// the upgrade would install is an "Inst" line:
//
//	Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
//	Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable, Debian:12-updates/stable-updates [all]) []
//	Inst linux-image-6.1.0-35-amd64 (6.1.137-1 Debian:12.11/stable, Debian-Security:12/stable-security [amd64])
//
// The parenthesis holds the new version and every archive that carries it,
// as Label:Version/Archive. A package is a security update when one of them
// is a security archive, the rule Ubuntu's apt-check and
// unattended-upgrades' default origins follow.
func ParseSimulation(r io.Reader) (Pending, error) {
	var p Pending
	sawSummary := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "Inst "); ok {
			p.All++
			if isSecurityInst(rest) {
				p.Security++
			}
			continue
		}
		if summaryLine.MatchString(strings.TrimSpace(line)) {
			sawSummary = true
		}
	}
	if err := sc.Err(); err != nil {
		return Pending{}, err
	}
	if !sawSummary {
		return Pending{}, ErrNoSummary
	}
	return p, nil
}

// isSecurityInst reads the rest of an Inst line after "Inst ".
func isSecurityInst(rest string) bool {
	open := strings.Index(rest, " (")
	if open < 0 {
		return false
	}
	inner, _, ok := strings.Cut(rest[open+2:], ")")
	if !ok {
		return false
	}
	_, origins, ok := strings.Cut(inner, " ") // drop the new version
	if !ok {
		return false
	}
	if i := strings.LastIndex(origins, " ["); i >= 0 { // drop " [arch]"
		origins = origins[:i]
	}
	for o := range strings.SplitSeq(origins, ", ") {
		if isSecurityOrigin(strings.TrimSpace(o)) {
			return true
		}
	}
	return false
}

// isSecurityOrigin reads one Label:Version/Archive, e.g.
// Debian-Security:12/stable-security, Ubuntu:22.04/jammy-security,
// UbuntuESMApps:22.04/jammy-apps-security.
func isSecurityOrigin(o string) bool {
	label, _, _ := strings.Cut(o, ":")
	archive := o[strings.LastIndex(o, "/")+1:]
	return strings.HasSuffix(archive, "-security") || strings.Contains(strings.ToLower(label), "security")
}
