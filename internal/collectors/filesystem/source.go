// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package filesystem

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Usage is what statfs says about the filesystem holding a path.
type Usage struct {
	SizeBytes  float64
	AvailBytes float64 // available to unprivileged users, like df's "Avail"
	Files      float64
	FilesFree  float64
	ReadOnly   bool
	Mountpoint string
}

// Statter measures one path. It may block (stale NFS); the collector calls
// it from a goroutine it can abandon.
type Statter interface {
	Stat(path string) (Usage, error)
}

// OSStatter uses statfs(2) and /proc/self/mountinfo.
type OSStatter struct {
	// MountInfo is the mountinfo file; empty means /proc/self/mountinfo.
	MountInfo string
}

// Stat implements Statter.
func (s OSStatter) Stat(path string) (Usage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return Usage{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := float64(st.Bsize)
	if st.Frsize > 0 {
		bs = float64(st.Frsize)
	}
	u := Usage{
		SizeBytes:  float64(st.Blocks) * bs,
		AvailBytes: float64(st.Bavail) * bs,
		Files:      float64(st.Files),
		FilesFree:  float64(st.Ffree),
		ReadOnly:   st.Flags&unix.ST_RDONLY != 0,
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = path
	}
	mi := s.MountInfo
	if mi == "" {
		mi = "/proc/self/mountinfo"
	}
	mps, err := readMountpoints(mi)
	if err != nil {
		return Usage{}, err
	}
	u.Mountpoint = mountpointOf(real, mps)
	return u, nil
}

// readMountpoints returns the mount points listed in a mountinfo file.
func readMountpoints(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		// the fifth field is the mount point, with octal escapes.
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		out = append(out, unescapeOctal(fields[4]))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	return out, nil
}

// mountpointOf picks the longest mount point that contains path.
func mountpointOf(path string, mountpoints []string) string {
	best := "/"
	for _, mp := range mountpoints {
		if (path == mp || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	return best
}

// unescapeOctal undoes the \040-style escaping of spaces, tabs, newlines
// and backslashes in mountinfo.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}
