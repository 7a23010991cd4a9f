// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// errQuotaAbsent: doveadm is not installed, or Dovecot runs without the
// quota plugin. The quota part then reports nothing, quietly.
var errQuotaAbsent = errors.New("dovecot quota not available")

// resource is one quota resource of a user: the value and limit of the
// quota root closest to its limit (a user may have several roots).
type resource struct {
	used  int64
	limit int64 // 0: unlimited
	seen  bool
}

func (r resource) ratio() float64 {
	if r.limit <= 0 {
		return 0
	}
	return float64(r.used) / float64(r.limit)
}

// merge keeps whichever of the two roots is closer to its limit.
func (r *resource) merge(used, limit int64) {
	n := resource{used: used, limit: limit, seen: true}
	if !r.seen || n.ratio() > r.ratio() || n.ratio() == r.ratio() && n.used > r.used {
		*r = n
	}
}

// quotaUsage is one Dovecot user's quota.
type quotaUsage struct {
	storage  resource // bytes
	messages resource
	// failed: doveadm printed "error" for one of the user's values.
	failed bool
}

// ratio is the usage of the resource closest to its limit, 0..1 (it may
// exceed 1 when Dovecot lets a delivery overshoot).
func (q *quotaUsage) ratio() float64 { return max(q.storage.ratio(), q.messages.ratio()) }

// maxQuotaLine bounds one line of doveadm output.
const maxQuotaLine = 64 << 10

// parseQuota reads the output of `doveadm -f tab quota get`: a header line
// naming the columns, then one tab-separated row per user, quota root and
// resource. With -A (or a -u mask) the first column is Username; with a
// plain -u it is absent and the rows are user's. STORAGE values and
// limits are in KiB, MESSAGE ones are counts; a limit of "-" means none,
// and a value of "error" means Dovecot could not compute it. At most limit
// users are kept.
func parseQuota(r io.Reader, user string, out map[string]*quotaUsage, limit int) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxQuotaLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read doveadm output: %w", err)
		}
		return errors.New("doveadm printed nothing")
	}
	col := map[string]int{}
	for i, h := range strings.Split(sc.Text(), "\t") {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	ui, hasUser := col["username"]
	ti, ok1 := col["type"]
	vi, ok2 := col["value"]
	li, ok3 := col["limit"]
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("doveadm output has no Type, Value and Limit columns (was -f tab honoured?): %q", truncate(sc.Text(), 80))
	}
	width := len(col)
	bad := 0
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) == 1 && f[0] == "" {
			continue
		}
		if len(f) < width {
			bad++
			continue
		}
		u := user
		if hasUser {
			u = f[ui]
		}
		q := out[u]
		if q == nil {
			if len(out) >= limit {
				return fmt.Errorf("doveadm listed more than %d users", limit)
			}
			q = &quotaUsage{}
			out[u] = q
		}
		if err := q.add(f[ti], f[vi], f[li]); err != nil {
			bad++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read doveadm output: %w", err)
	}
	if bad > 0 {
		return fmt.Errorf("doveadm output had %d malformed rows", bad)
	}
	return nil
}

// add records one row.
func (q *quotaUsage) add(typ, value, limit string) error {
	var mult int64
	var res *resource
	switch strings.ToUpper(typ) {
	case "STORAGE":
		mult, res = 1024, &q.storage
	case "MESSAGE":
		mult, res = 1, &q.messages
	default:
		return nil // a resource this collector does not export
	}
	if value == "error" || limit == "error" {
		q.failed = true
		return nil
	}
	used, err := parseScaled(value, mult)
	if err != nil {
		return err
	}
	var lim int64
	if limit != "-" {
		if lim, err = parseScaled(limit, mult); err != nil {
			return err
		}
	}
	res.merge(used, lim)
	return nil
}

func parseScaled(s string, mult int64) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n > (1<<62)/mult || n < -(1<<62)/mult {
		return 0, fmt.Errorf("quota value %q out of range", s)
	}
	return n * mult, nil
}

// quotaSource reports Dovecot quota usage per user.
type quotaSource interface {
	// Quota returns each user's usage. It returns promptly once ctx is
	// done; errQuotaAbsent means there is no quota to ask on this host.
	Quota(ctx context.Context) (map[string]*quotaUsage, error)
}

// doveadm runs `doveadm -f tab quota get` without a shell. The process is
// killed when ctx is done, and its output is parsed as it streams, so a
// host with many users does not buffer it all.
type doveadm struct {
	prog  string
	users []string
	limit int
}

// Quota implements quotaSource.
func (d doveadm) Quota(ctx context.Context) (map[string]*quotaUsage, error) {
	out := map[string]*quotaUsage{}
	if len(d.users) == 0 {
		return out, d.run(ctx, "", out, "-A")
	}
	var errs []error
	for _, u := range d.users {
		if err := d.run(ctx, u, out, "-u", u); err != nil {
			if errors.Is(err, errQuotaAbsent) {
				return nil, err
			}
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return out, errors.Join(errs...)
}

func (d doveadm) run(ctx context.Context, user string, out map[string]*quotaUsage, args ...string) error {
	stderr := &stderrSink{}
	err := collectors.Command{
		Path: d.prog, Args: append([]string{"-f", "tab", "quota", "get"}, args...),
		Name: "doveadm quota get", Stderr: stderr,
	}.Stream(ctx, func(stdout io.Reader) error { return parseQuota(stdout, user, out, d.limit) })
	stderr.close()
	msg := stderr.String()
	switch {
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", errQuotaAbsent, err) // could not start it
	case strings.Contains(msg, "Unknown command 'quota'"):
		// "Fatal: Unknown command 'quota', but plugin quota exists. Try
		// to set mail_plugins=quota": Dovecot runs without quotas.
		return fmt.Errorf("%w: %s", errQuotaAbsent, firstLine(msg))
	case err != nil:
		// The context's end, a malformed output, or an exit status: doveadm
		// exits 75 (EX_TEMPFAIL) when some user failed; the rows it printed
		// are still good, but the run is not.
		return err
	case stderr.errors > 0:
		return fmt.Errorf("doveadm quota get reported %d errors, the first: %s", stderr.errors, stderr.first)
	}
	return nil
}

// stderrSink keeps the first lines doveadm writes to stderr and counts the
// ones that report an error. doveadm exits 0 even when every user failed
// ("doveadm(alice): Error: Failed to initialize quota: ..."), printing
// only the header on stdout, so its stderr is the only sign of failure.
type stderrSink struct {
	head    []byte
	partial []byte
	errors  int
	first   string
}

const stderrKeep = 4096

func (s *stderrSink) Write(p []byte) (int, error) {
	if room := stderrKeep - len(s.head); room > 0 {
		s.head = append(s.head, p[:min(room, len(p))]...)
	}
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if room := stderrKeep - len(s.partial); room > 0 {
				s.partial = append(s.partial, rest[:min(room, len(rest))]...)
			}
			break
		}
		s.line(append(s.partial, rest[:i]...))
		s.partial = s.partial[:0]
		rest = rest[i+1:]
	}
	return len(p), nil
}

func (s *stderrSink) line(l []byte) {
	if bytes.Contains(l, []byte("Error:")) || bytes.Contains(l, []byte("Fatal:")) || bytes.Contains(l, []byte("Panic:")) {
		if s.errors == 0 {
			s.first = truncate(string(l), 200)
		}
		s.errors++
	}
}

// close accounts for a last line without a newline.
func (s *stderrSink) close() {
	if len(s.partial) > 0 {
		s.line(s.partial)
		s.partial = nil
	}
}

func (s *stderrSink) String() string { return string(s.head) }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return truncate(s, 200)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// quotaMailboxes are the mailbox labels a Dovecot user may match: the
// user name itself ("alice", or "alice@example.org" for a root named by
// address) and, for "alice@example.org", the DOMAIN/USER layout
// "example.org/alice".
func quotaMailboxes(user string) []string {
	if i := strings.LastIndexByte(user, '@'); i > 0 && i < len(user)-1 {
		return []string{user, user[i+1:] + "/" + user[:i]}
	}
	return []string{user}
}
