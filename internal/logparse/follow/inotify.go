// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package follow

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The inotify watcher is written on golang.org/x/sys/unix rather than
// github.com/fsnotify/fsnotify. What the follower needs is a wake-up, not a
// stream of events: fsnotify watches a directory for every kind of event
// (IN_MODIFY included, so every write to any file of /var/log would reach
// us), turns each one into a Go value with its path and sends it on a
// channel. Here a directory is watched only for entries created, deleted
// and renamed (and the events are filtered by name), a file for writes,
// truncations and metadata, and the reader goroutine parses the kernel's
// buffer in place and leaves one value in a one-slot channel. While that
// value is not taken, the goroutine does not read, so the kernel merges the
// identical events that follow (inotify(7): "If successive output inotify
// events produced on the inotify file descriptor are identical ... then they
// are coalesced into a single event"): a burst of writes costs the process
// a handful of wake-ups, not one per write. x/sys is already a dependency.

const (
	// A followed file: appended to or truncated (IN_MODIFY, inotify(7):
	// "File was modified (e.g., write(2), truncate(2))"), unlinked or
	// chmod-ed (IN_ATTRIB, the link count), renamed (IN_MOVE_SELF).
	inotifyFileMask = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_MOVE_SELF | unix.IN_DELETE_SELF
	// A directory of a pattern: entries appear, go or are renamed (either
	// way); the directory itself goes.
	inotifyDirMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
)

// Filesystems where inotify sees only the changes made through this kernel
// (statfs(2) f_type, from linux/magic.h): a file written by another host
// sends no event, so their sources keep polling.
var remoteFS = map[int64]string{
	0x6969:     "nfs",
	0xFF534D42: "cifs",
	0xFE534D42: "smb2",
	0x517B:     "smb",
	0x65735546: "fuse",
	0x01021997: "9p",
	0x00C36400: "ceph",
	0x73757245: "coda",
	0x47504653: "gpfs",
	0x0BD00BD0: "lustre",
}

type inotifyWatch struct {
	dir   bool
	names []string // dir: base-name patterns of interest
}

type inotify struct {
	f    *os.File
	wake chan struct{}
	done chan struct{}
	wg   sync.WaitGroup

	mu  sync.Mutex
	wds map[int32]*inotifyWatch
}

// NewInotify returns a Watcher on the kernel's inotify. It fails when the
// kernel has none, or the user has no inotify instance left
// (fs.inotify.max_user_instances).
func NewInotify() (Watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.EMFILE) {
			return nil, fmt.Errorf("inotify_init1: %w (fs.inotify.max_user_instances reached)", err)
		}
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	// A non-blocking descriptor goes to the runtime's poller: a Read parks
	// the goroutine, and Close wakes it.
	w := &inotify{f: os.NewFile(uintptr(fd), "inotify"), wake: make(chan struct{}, 1),
		done: make(chan struct{}), wds: map[int32]*inotifyWatch{}}
	w.wg.Add(1)
	go w.read()
	return w, nil
}

// Watch implements Watcher.
func (w *inotify) Watch(files []string, dirs map[string][]string) (covered bool, err error) {
	raw, err := w.f.SyscallConn()
	if err != nil {
		return false, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	covered = true
	next := map[int32]*inotifyWatch{}
	add := func(path string, mask uint32) (int32, bool) {
		var wd int
		var aerr error
		if cerr := raw.Control(func(fd uintptr) { wd, aerr = unix.InotifyAddWatch(int(fd), path, mask) }); cerr != nil {
			aerr = cerr
		}
		switch {
		case aerr == nil:
			return int32(wd), true //nolint:gosec // watch descriptors are small ints
		case errors.Is(aerr, unix.ENOSPC):
			err = fmt.Errorf("inotify_add_watch %s: %w (fs.inotify.max_user_watches reached)", path, aerr)
		case errors.Is(aerr, unix.ENOMEM):
			err = fmt.Errorf("inotify_add_watch %s: %w", path, aerr)
		}
		// Missing, not a directory, not allowed: the safety poll looks.
		covered = false
		return 0, false
	}
	for dir, names := range dirs {
		if wd, ok := add(dir, inotifyDirMask); ok {
			iw := next[wd]
			if iw == nil {
				iw = &inotifyWatch{dir: true}
				next[wd] = iw
			}
			iw.names = append(iw.names, names...)
			var st unix.Statfs_t
			if unix.Statfs(dir, &st) == nil && remoteFS[int64(st.Type)] != "" { //nolint:unconvert // Type is int32 on some platforms
				covered = false
			}
		}
		if err != nil {
			return false, err
		}
	}
	for _, path := range files {
		if wd, ok := add(path, inotifyFileMask); ok {
			if next[wd] == nil {
				next[wd] = &inotifyWatch{}
			} else {
				// A file and a directory are never the same inode; the same
				// file under two names is watched once.
				next[wd].dir = false
			}
		}
		if err != nil {
			return false, err
		}
	}
	for wd := range w.wds {
		if next[wd] == nil {
			// EINVAL when the kernel already dropped it (the file is gone).
			_ = raw.Control(func(fd uintptr) { _, _ = unix.InotifyRmWatch(int(fd), uint32(wd)) }) //nolint:gosec // a watch descriptor the kernel gave
		}
	}
	w.wds = next
	return covered, nil
}

// Wake implements Watcher.
func (w *inotify) Wake() <-chan struct{} { return w.wake }

// Close implements Watcher.
func (w *inotify) Close() error {
	close(w.done)
	err := w.f.Close()
	w.wg.Wait()
	return err
}

// read reads events until the watcher is closed, and leaves a wake-up for
// each batch that holds one of interest.
func (w *inotify) read() {
	defer w.wg.Done()
	// inotify(7): a buffer of sizeof(struct inotify_event) + NAME_MAX + 1
	// holds at least one event; a larger one takes a batch per read.
	buf := make([]byte, 16*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return // closed
		}
		if !w.relevant(buf[:n]) {
			continue
		}
		select {
		case w.wake <- struct{}{}:
		case <-w.done:
			return
		}
	}
}

// relevant reports whether a buffer of events holds one the follower must
// look at: any event on a followed file, an event in a directory for a name
// one of its patterns matches, a watch removed by the kernel, or a queue
// overflow (events were lost).
func (w *inotify) relevant(buf []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for off := 0; off+unix.SizeofInotifyEvent <= len(buf); {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		nameEnd := off + unix.SizeofInotifyEvent + int(ev.Len)
		if nameEnd > len(buf) {
			return true // cannot happen (the kernel writes whole events); look anyway
		}
		name := buf[off+unix.SizeofInotifyEvent : nameEnd]
		off = nameEnd
		if ev.Mask&(unix.IN_Q_OVERFLOW|unix.IN_IGNORED) != 0 {
			return true
		}
		iw := w.wds[ev.Wd]
		if iw == nil {
			continue // a watch removed since
		}
		if !iw.dir || ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0 {
			return true
		}
		if matchesAny(iw.names, cstring(name)) {
			return true
		}
	}
	return false
}

// cstring is the NUL-padded name of an event, without its padding.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func matchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}
