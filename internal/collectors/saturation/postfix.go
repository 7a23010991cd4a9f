// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package saturation

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// pfService is one master.cf entry, as `postconf -M` prints it: one line
// per service, "name type private unpriv chroot wakeup maxproc command
// args..." (master(5)).
type pfService struct {
	key     string // name/type, as postconf -M addresses it: "smtp/inet"
	command string // "smtpd"
	limit   int    // maxproc, "-" resolved to default_process_limit; 0: no limit
	// opts are the -o name=value overrides of the entry's arguments.
	opts map[string]string
}

// smtpdLimits are the smtpd(8) client limits exported per smtpd service:
// the label value and the parameter. The rates are per
// anvil_rate_time_unit; 0 means no limit (postconf(5)).
var smtpdLimits = []struct{ label, param string }{
	{"connection_count", "smtpd_client_connection_count_limit"},
	{"connection_rate", "smtpd_client_connection_rate_limit"},
	{"message_rate", "smtpd_client_message_rate_limit"},
	{"recipient_rate", "smtpd_client_recipient_rate_limit"},
}

// pfParams are the main.cf parameters read with postconf -x (expanded).
var pfParams = func() []string {
	ps := []string{"default_process_limit", "queue_directory", "daemon_directory", "anvil_rate_time_unit"}
	for _, l := range smtpdLimits {
		ps = append(ps, l.param)
	}
	return ps
}()

// parseParams reads "name = value" lines of postconf.
func parseParams(out []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " = ")
		if !ok {
			k, ok = strings.CutSuffix(sc.Text(), " =") // empty value
			if !ok {
				continue
			}
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m
}

// parseMasterCF reads `postconf -M` output. maxproc "-" is
// default_process_limit; a line that is not an entry is an error (postconf
// prints nothing else).
func parseMasterCF(out []byte, defaultLimit int) ([]pfService, error) {
	var svcs []pfService
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("postconf -M line %d: %d fields, want at least 8: %q", n, len(f), truncate(line, 80))
		}
		s := pfService{key: f[0] + "/" + f[1], command: f[7], opts: map[string]string{}}
		switch mp := f[6]; mp {
		case "-":
			s.limit = defaultLimit
		default:
			v, err := strconv.Atoi(mp)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("postconf -M line %d: maxproc %q is not a number", n, mp)
			}
			s.limit = v
		}
		args := f[8:]
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-o" {
				if k, v, ok := strings.Cut(args[i+1], "="); ok {
					s.opts[k] = v
				}
				i++
			}
		}
		if seen[s.key] {
			continue // master(8) refuses duplicates; keep the first
		}
		seen[s.key] = true
		svcs = append(svcs, s)
	}
	return svcs, sc.Err()
}

// childService tells the master.cf service of one of master's children from
// its arguments, as master(8) builds them (master_ent.c): the command, then
// "-n NAME" when NAME differs from the command, "-t TYPE", and for public
// services with maxproc above 1 "-o stress=" or, in stress mode,
// "-o stress=yes" (STRESS_README), then the master.cf arguments. It returns
// the name/type key and whether the process runs in stress mode.
func childService(argv []string) (key string, stress, ok bool) {
	if len(argv) == 0 {
		return "", false, false
	}
	name, typ := path.Base(argv[0]), ""
	for i := 1; i+1 < len(argv); i++ {
		switch argv[i] {
		case "-n":
			name = argv[i+1]
			i++
		case "-t":
			typ = argv[i+1]
			i++
		case "-o":
			// The last -o wins, as in every Postfix daemon: a master.cf
			// "-o stress=yes" after master's own "-o stress=" forces it.
			if v, ok := strings.CutPrefix(argv[i+1], "stress="); ok {
				stress = v == "yes"
			}
			i++
		}
	}
	if typ == "" {
		return "", false, false
	}
	return name + "/" + typ, stress, true
}

// parseTimeUnit reads a Postfix time value such as anvil_rate_time_unit's
// "60s": a number and an optional unit (s, m, h, d, w; default s).
func parseTimeUnit(s string) (float64, error) {
	unit := time.Second
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 's':
			s = s[:n-1]
		case 'm':
			unit, s = time.Minute, s[:n-1]
		case 'h':
			unit, s = time.Hour, s[:n-1]
		case 'd':
			unit, s = 24*time.Hour, s[:n-1]
		case 'w':
			unit, s = 7*24*time.Hour, s[:n-1]
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("not a time value: %q", s)
	}
	return (time.Duration(v) * unit).Seconds(), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// pfService results of one instance.
type pfResult struct {
	name      string
	err       error // the configuration could not be read or master not found
	services  []pfServiceResult
	anvilUnit float64 // seconds; <0 unknown
}

type pfServiceResult struct {
	key    string
	procs  int
	limit  int // 0: no limit
	stress bool
	smtpd  []float64 // per smtpdLimits, nil for other commands; <0 unknown
}

// postfixReader reads one run's Postfix figures.
type postfixReader struct {
	postconf  string
	instances []Instance
	procs     procTable
	now       func() time.Time
	// cache holds postconf's output (-x, -M) per config directory: it
	// depends on main.cf, master.cf and postconf's built-in defaults only.
	cache map[string]*cachedOutput
}

// config returns the instance's postconf -x and postconf -M output, run
// again when main.cf, master.cf or the postconf program changed, or after
// configMaxAge.
func (r *postfixReader) config(ctx context.Context, in Instance) (params, master []byte, err error) {
	key, cacheable := configKey(r.postconf, filepath.Join(in.ConfigDirectory, "main.cf"), filepath.Join(in.ConfigDirectory, "master.cf"))
	c := r.cache[in.ConfigDirectory]
	if c == nil {
		c = &cachedOutput{}
		r.cache[in.ConfigDirectory] = c
	}
	now := r.now()
	if out, ok := c.get(key, now); cacheable && ok {
		return out[0], out[1], nil
	}
	params, err = r.postconfOut(ctx, append([]string{"-c", in.ConfigDirectory, "-x"}, pfParams...)...)
	if err != nil {
		return nil, nil, err
	}
	master, err = r.postconfOut(ctx, "-c", in.ConfigDirectory, "-M")
	if err != nil {
		return nil, nil, err
	}
	if cacheable {
		c.put(key, now, params, master)
	}
	return params, master, nil
}

// read reads every instance; masters and children come from the process
// table all, read once for the run.
func (r *postfixReader) read(ctx context.Context, all []proc) []pfResult {
	children := map[int][]proc{}
	for _, p := range all {
		if p.alive() {
			children[p.ppid] = append(children[p.ppid], p)
		}
	}
	out := make([]pfResult, 0, len(r.instances))
	for _, in := range r.instances {
		out = append(out, r.instance(ctx, in, all, children))
	}
	return out
}

func (r *postfixReader) postconfOut(ctx context.Context, args ...string) ([]byte, error) {
	return collectors.Command{Path: r.postconf, Args: args, Name: "postconf " + strings.Join(args, " ")}.Output(ctx)
}

func (r *postfixReader) instance(ctx context.Context, in Instance, all []proc, children map[int][]proc) pfResult {
	res := pfResult{name: in.ConfigDirectory, anvilUnit: -1}
	res.name = in.Name
	pout, mout, err := r.config(ctx, in)
	if err != nil {
		res.err = err
		return res
	}
	params := parseParams(pout)
	defLimit, err := strconv.Atoi(params["default_process_limit"])
	if err != nil {
		res.err = fmt.Errorf("default_process_limit %q is not a number", params["default_process_limit"])
		return res
	}
	svcs, err := parseMasterCF(mout, defLimit)
	if err != nil {
		res.err = err
		return res
	}
	if u, err := parseTimeUnit(params["anvil_rate_time_unit"]); err == nil {
		res.anvilUnit = u
	}
	master, err := r.findMaster(params["daemon_directory"], params["queue_directory"], all)
	counts, stress := map[string]int{}, map[string]bool{}
	if err != nil {
		res.err = err
	} else {
		for _, c := range children[master] {
			argv, err := r.procs.argv(c.pid)
			if err != nil {
				continue // exited meanwhile
			}
			if key, st, ok := childService(argv); ok {
				counts[key]++
				stress[key] = stress[key] || st
			}
		}
	}
	for _, s := range svcs {
		sr := pfServiceResult{key: s.key, procs: counts[s.key], limit: s.limit, stress: stress[s.key]}
		if path.Base(s.command) == "smtpd" {
			sr.smtpd = make([]float64, len(smtpdLimits))
			for i, l := range smtpdLimits {
				v, ok := s.opts[l.param]
				if !ok {
					v = params[l.param]
				}
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					n = -1 // "$name" left unexpanded in an override: unknown
				}
				sr.smtpd[i] = float64(n)
			}
		}
		res.services = append(res.services, sr)
	}
	return res
}

// errNoMaster: the instance's master is not running.
var errNoMaster = errors.New("master process not running")

// findMaster returns the PID of the instance's master(8): among the
// processes running daemon_directory/master, the one whose PID the
// instance's pidfile (queue_directory/pid/master.pid, root-only on Debian)
// names, else the one whose working directory is queue_directory (master
// runs there; readable by root or the same user), else the only one when
// there is one.
func (r *postfixReader) findMaster(daemonDir, queueDir string, all []proc) (int, error) {
	var masters []int
	prog := filepath.Join(daemonDir, "master")
	for _, p := range all {
		if p.comm != "master" || !p.alive() {
			continue
		}
		argv, err := r.procs.argv(p.pid)
		if err != nil || len(argv) == 0 || argv[0] != prog {
			continue
		}
		masters = append(masters, p.pid)
	}
	if len(masters) == 0 {
		return 0, errNoMaster
	}
	if b, err := os.ReadFile(filepath.Join(queueDir, "pid", "master.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			for _, m := range masters {
				if m == pid {
					return m, nil
				}
			}
		}
	}
	for _, m := range masters {
		if cwd, err := r.procs.cwd(m); err == nil && filepath.Clean(cwd) == filepath.Clean(queueDir) {
			return m, nil
		}
	}
	if len(masters) == 1 && len(r.instances) == 1 {
		return masters[0], nil
	}
	return 0, fmt.Errorf("%d Postfix master processes run and neither %s nor their working directories are readable to tell which is this instance's (run as root, or configure one instance)", len(masters), filepath.Join(queueDir, "pid", "master.pid"))
}
