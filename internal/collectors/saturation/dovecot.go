// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package saturation

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// dcService is one Dovecot service block as doveconf -a prints it.
type dcService struct {
	name         string
	executable   string // "imap-login", "auth -w"
	processLimit int    // 0 in the block: default_process_limit
	clientLimit  int    // 0 in the block: default_client_limit
}

// parseDoveconf reads `doveconf -a service default_process_limit
// default_client_limit`: the service blocks (nested listener blocks
// skipped) and the two defaults, which a limit of 0 stands for
// (doveconf(1), Dovecot's service settings).
func parseDoveconf(out []byte) (map[string]dcService, error) {
	svcs := map[string]dcService{}
	defs := map[string]int{}
	var cur *dcService
	depth := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#':
			continue
		case strings.HasSuffix(line, "{"):
			depth++
			if name, ok := strings.CutPrefix(line, "service "); ok && depth == 1 {
				cur = &dcService{name: strings.TrimSpace(strings.TrimSuffix(name, "{")), processLimit: -1, clientLimit: -1}
			}
			continue
		case line == "}":
			if depth == 1 && cur != nil {
				svcs[cur.name] = *cur
				cur = nil
			}
			if depth > 0 {
				depth--
			}
			continue
		}
		k, v, ok := strings.Cut(line, " = ")
		if !ok {
			continue
		}
		switch {
		case depth == 0 && (k == "default_process_limit" || k == "default_client_limit"):
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("doveconf: %s %q is not a number", k, v)
			}
			defs[k] = n
		case depth == 1 && cur != nil:
			switch k {
			case "executable":
				cur.executable = v
			case "process_limit", "client_limit":
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("doveconf: service %s: %s %q is not a number", cur.name, k, v)
				}
				if k == "process_limit" {
					cur.processLimit = n
				} else {
					cur.clientLimit = n
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	dp, okp := defs["default_process_limit"]
	dc, okc := defs["default_client_limit"]
	if !okp || !okc || len(svcs) == 0 {
		return nil, fmt.Errorf("doveconf printed no services or no default limits (%d bytes)", len(out))
	}
	for k, s := range svcs {
		if s.processLimit == 0 {
			s.processLimit = dp
		}
		if s.clientLimit == 0 {
			s.clientLimit = dc
		}
		svcs[k] = s
	}
	return svcs, nil
}

// maxComm is TASK_COMM_LEN minus its NUL: the kernel keeps the first 15
// bytes of a program's name ("managesieve-login" is "managesieve-log").
const maxComm = 15

// execComm is the comm a service's processes have: the base name of its
// executable's first word, cut to 15 bytes; and the executable's arguments
// ("-w" of the auth worker), which tell apart services that share a program.
func execComm(executable string) (comm, args string) {
	prog, args, _ := strings.Cut(strings.TrimSpace(executable), " ")
	comm = path.Base(prog)
	if len(comm) > maxComm {
		comm = comm[:maxComm]
	}
	return comm, strings.TrimSpace(args)
}

type dcResult struct {
	err      error
	services []dcServiceResult // in the configured order
}

type dcServiceResult struct {
	name                      string
	found                     bool // in doveconf's output
	procs                     int
	processLimit, clientLimit int
}

// dovecotReader reads one run's Dovecot figures.
type dovecotReader struct {
	doveconf string
	services []string
	procs    procTable
	now      func() time.Time
	// cache holds doveconf's output. Which files doveconf reads depends on
	// the !include lines of dovecot.conf, so the output is run again when
	// the doveconf program or the master process changed (a restart
	// rereads the configuration) and after configMaxAge.
	cache cachedOutput
}

// read runs doveconf (it reads dovecot.conf and every file included: an
// unprivileged user needs read access to them) and counts
// the children of Dovecot's master process per service.
func (r *dovecotReader) read(ctx context.Context, all []proc) dcResult {
	// Dovecot's master is "dovecot", and every service process is its
	// child, its argv rewritten to "dovecot/imap-login" and the like.
	comm := map[int]string{}
	for _, p := range all {
		comm[p.pid] = p.comm
	}
	masters := map[int]bool{}
	var pids []int
	for _, p := range all {
		if p.comm == "dovecot" && p.alive() && comm[p.ppid] != "dovecot" {
			masters[p.pid] = true
			pids = append(pids, p.pid)
		}
	}
	out, err := r.config(ctx, pids)
	if err != nil {
		return dcResult{err: err}
	}
	svcs, err := parseDoveconf(out)
	if err != nil {
		return dcResult{err: err}
	}
	if len(masters) == 0 {
		err = fmt.Errorf("dovecot: %w", errNoMaster)
	}
	// Which services a comm may belong to: every service doveconf knows,
	// so that "auth -w" is not counted as auth even when only auth is
	// exported.
	names := make([]string, 0, len(svcs))
	for n := range svcs {
		names = append(names, n)
	}
	sort.Strings(names) // services sharing a program without arguments: the first name wins
	byComm := map[string][]dcService{}
	for _, n := range names {
		c, _ := execComm(svcs[n].executable)
		byComm[c] = append(byComm[c], svcs[n])
	}
	counts := map[string]int{}
	for _, p := range all {
		if !masters[p.ppid] || !p.alive() {
			continue
		}
		cands := byComm[p.comm]
		switch len(cands) {
		case 0:
			continue
		case 1:
			counts[cands[0].name]++
			continue
		}
		argv, aerr := r.procs.argv(p.pid)
		if aerr != nil {
			continue
		}
		if name := pickService(cands, strings.Join(argv, " ")); name != "" {
			counts[name]++
		}
	}
	res := dcResult{err: err}
	for _, name := range r.services {
		s, ok := svcs[name]
		res.services = append(res.services, dcServiceResult{name: name, found: ok, procs: counts[name], processLimit: s.processLimit, clientLimit: s.clientLimit})
	}
	return res
}

// config returns doveconf's output, reused while the program and the
// master processes (masters) are the same, for at most configMaxAge.
func (r *dovecotReader) config(ctx context.Context, masters []int) ([]byte, error) {
	key, cacheable := configKey(r.doveconf)
	sort.Ints(masters)
	key += fmt.Sprint(masters)
	now := r.now()
	if out, ok := r.cache.get(key, now); cacheable && ok {
		return out[0], nil
	}
	out, err := collectors.Command{
		Path: r.doveconf, Args: []string{"-a", "service", "default_process_limit", "default_client_limit"},
		Name: "doveconf -a service", MaxOutput: 4 << 20,
	}.Output(ctx)
	if err != nil {
		return nil, err
	}
	if cacheable {
		r.cache.put(key, now, out)
	}
	return out, nil
}

// pickService chooses among services that run the same program: the one
// whose executable arguments the command line carries ("dovecot/auth -w"),
// else the one without arguments.
func pickService(cands []dcService, cmdline string) string {
	plain, best, bestLen := "", "", 0
	fields := " " + cmdline + " "
	for _, s := range cands {
		_, args := execComm(s.executable)
		if args == "" {
			if plain == "" {
				plain = s.name
			}
			continue
		}
		if strings.Contains(fields, " "+args+" ") && len(args) > bestLen {
			best, bestLen = s.name, len(args)
		}
	}
	if best != "" {
		return best
	}
	return plain
}
