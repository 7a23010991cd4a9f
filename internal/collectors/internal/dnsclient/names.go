// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsclient

import "strings"

// NormalizeName lower-cases a configured name and drops one trailing dot,
// so that "Example.ORG." and "example.org" are one label value.
func NormalizeName(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// IsHostname reports whether s (no trailing dot) is a DNS name of at least
// two labels of letters, digits, hyphens and underscores, each 1..63 bytes
// and not starting or ending with a hyphen, 253 bytes at most.
func IsHostname(s string) bool {
	if s == "" || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
