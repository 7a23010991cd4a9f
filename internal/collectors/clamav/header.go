// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package clamav

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// HeaderSize is the length of the header at the start of every .cvd and .cld
// file; the signatures (a gzipped tar in a .cvd, a plain tar in a .cld)
// follow it.
const HeaderSize = 512

const headerMagic = "ClamAV-VDB:"

// buildTimeLayout is the human build time of field 1. The header separates
// its fields with ':', so the clock is written 15-04, not 15:04.
const buildTimeLayout = "02 Jan 2006 15-04 -0700"

// Header is what the first 512 bytes of a signature database say.
//
// The header is one line of colon-separated fields, padded to 512 bytes:
//
//	ClamAV-VDB:<build time>:<version>:<signatures>:<functionality level>:<md5>:<dsig>:<builder>:<build time, Unix>
//
// The last field is missing from very old files. freshclam rewrites the
// header of a .cld when it applies a daily diff; it then has no digest or
// signature (they would not match), so those two fields are never checked
// here: only sigtool --verify or clamd's own load can vouch for the body.
type Header struct {
	// BuildTime is when Talos built this version of the database.
	BuildTime time.Time
	// Version increases by one with each published update.
	Version uint64
	// Signatures is the number of signatures the database holds.
	Signatures uint64
	// FunctionalityLevel is the lowest engine level that can load it.
	FunctionalityLevel uint64
	// Builder is the name of whoever built it (never exported as a label).
	Builder string
}

// ErrNotHeader means the bytes do not start with the ClamAV database magic.
var ErrNotHeader = errors.New("not a ClamAV database (no ClamAV-VDB header)")

// ParseHeader parses the 512-byte header of a .cvd or .cld file.
func ParseHeader(b []byte) (Header, error) {
	if len(b) != HeaderSize {
		return Header{}, fmt.Errorf("header is %d bytes, want %d", len(b), HeaderSize)
	}
	if !strings.HasPrefix(string(b), headerMagic) {
		return Header{}, ErrNotHeader
	}
	s := strings.TrimRight(string(b), " \x00\n\r\t")
	fields := strings.Split(s, ":")
	if len(fields) < 8 {
		return Header{}, fmt.Errorf("header has %d fields, want at least 8", len(fields))
	}
	var h Header
	var err error
	if h.Version, err = headerNumber("version", fields[2]); err != nil {
		return Header{}, err
	}
	if h.Signatures, err = headerNumber("signature count", fields[3]); err != nil {
		return Header{}, err
	}
	if h.FunctionalityLevel, err = headerNumber("functionality level", fields[4]); err != nil {
		return Header{}, err
	}
	h.Builder = fields[7]
	if h.BuildTime, err = buildTime(fields); err != nil {
		return Header{}, err
	}
	return h, nil
}

// buildTime prefers the Unix time of field 8, which has no time zone to get
// wrong, and falls back to the text of field 1 for files that lack it.
func buildTime(fields []string) (time.Time, error) {
	if len(fields) > 8 {
		if sec, err := strconv.ParseInt(strings.TrimSpace(fields[8]), 10, 64); err == nil && sec > 0 {
			return time.Unix(sec, 0).UTC(), nil
		}
	}
	t, err := time.Parse(buildTimeLayout, strings.TrimSpace(fields[1]))
	if err != nil {
		return time.Time{}, fmt.Errorf("unreadable build time %q", clip(fields[1]))
	}
	return t.UTC(), nil
}

func headerNumber(what, s string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("unreadable %s %q", what, clip(s))
	}
	return n, nil
}

// clip keeps error messages short when a file is garbage.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
