// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package saturation shows how close Postfix's and Dovecot's services are
// to their process limits, before clients notice.
//
// Postfix: for each configured instance, the master.cf services (postconf
// -M, maxproc "-" being default_process_limit, 0 no limit), the children of
// the instance's master(8) counted from /proc by their arguments (master
// starts each as "smtpd -n submission -t inet ..."), and stress mode, which
// master announces to the children it starts with "-o stress=yes" once a
// public service has run out of processes (master_avail.c, STRESS_README).
// The smtpd services' client limits (smtpd_client_connection_count_limit
// and the anvil rate limits, with their -o overrides) and
// anvil_rate_time_unit are exported beside, so that rules can compare.
//
// Dovecot: for the configured services, the children of Dovecot's master
// counted by program name (comm), and process_limit and client_limit from
// `doveconf -a`, 0 resolved to default_process_limit and
// default_client_limit.
//
// Label set: postfix_instance is configured, service comes from master.cf:
// max_services services of an instance are labelled, the inet and pass
// services first, then the others, each in master.cf order (so the set is
// stable), and the rest summed as "_other". Dovecot's services are the
// configured list.
//
// Permissions: /proc/PID/stat and cmdline are world-readable (unless /proc
// is mounted with hidepid). postconf needs read access to main.cf and
// master.cf (world-readable on Debian). doveconf reads dovecot.conf and
// every file it includes (not the ssl_key file): unprivileged, it fails when
// an included file is not readable, such as Debian's root:dovecot 0640
// dovecot-sql.conf.ext (doctor says so). With several Postfix instances, the
// master of each is told by its pidfile or its working directory, both
// root's: unprivileged, only a single instance can be attributed.
package saturation

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// other is the label value of the services beyond max_services.
const other = "_other"

var (
	pfLabels = []string{"postfix_instance", "service"}

	pfProcsDesc = collectors.NewDesc(Name, "postfix", "service_processes",
		"Processes of the Postfix master.cf service (name/type) running now, idle ones included, counted from /proc; services beyond max_services summed as _other.", pfLabels...)
	pfLimitDesc = collectors.NewDesc(Name, "postfix", "service_process_limit",
		"maxproc of the Postfix master.cf service (default_process_limit for \"-\"); absent when unlimited (0).", pfLabels...)
	pfStressDesc = collectors.NewDesc(Name, "postfix", "stress_mode",
		"1 if a process of the Postfix service runs with -o stress=yes: master ran out of processes for it and started stress mode.", pfLabels...)
	pfSmtpdDesc = collectors.NewDesc(Name, "postfix", "smtpd_client_limit",
		"smtpd client limit of the service (its -o override, else main.cf): connection_count per client, and connection, message and recipient rates per client per anvil_rate_time_unit; 0 means no limit.", "postfix_instance", "service", "limit")
	pfAnvilDesc = collectors.NewDesc(Name, "postfix", "anvil_rate_time_unit_seconds",
		"anvil_rate_time_unit of the Postfix instance: the time unit of the smtpd client rate limits.", "postfix_instance")
	pfSuccessDesc = collectors.NewDesc(Name, "postfix", "saturation_success",
		"1 if the Postfix instance's configuration was read and its master process found.", "postfix_instance")

	dcProcsDesc = collectors.NewDesc(Name, "dovecot", "service_processes",
		"Processes of the Dovecot service running now, children of Dovecot's master counted from /proc.", "service")
	dcProcLimitDesc = collectors.NewDesc(Name, "dovecot", "service_process_limit",
		"process_limit of the Dovecot service (default_process_limit for 0).", "service")
	dcClientLimitDesc = collectors.NewDesc(Name, "dovecot", "service_client_limit",
		"client_limit of the Dovecot service: connections one process serves (default_client_limit for 0).", "service")
	dcSuccessDesc = collectors.NewDesc(Name, "dovecot", "saturation_success",
		"1 if doveconf ran and Dovecot's master process was found.")
)

// Collector is the saturation collector.
type Collector struct {
	procs       procTable
	postfix     *postfixReader // nil when off
	dovecot     *dovecotReader // nil when off
	maxServices int
	logger      *zap.Logger
	logs        collectors.LogOnChange
}

// New builds the collector on the host's /proc.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	return newCollector(cfg, "/proc", logger), nil
}

func newCollector(cfg Config, procRoot string, logger *zap.Logger) *Collector {
	t := procTable{root: procRoot}
	c := &Collector{procs: t, maxServices: cfg.MaxServices, logger: logger}
	if cfg.Postfix.Enabled == nil || *cfg.Postfix.Enabled {
		c.postfix = &postfixReader{postconf: cfg.Postfix.Postconf, instances: append([]Instance(nil), cfg.Postfix.Instances...), procs: t,
			now: time.Now, cache: map[string]*cachedOutput{}}
	}
	if cfg.Dovecot.Enabled == nil || *cfg.Dovecot.Enabled {
		c.dovecot = &dovecotReader{doveconf: cfg.Dovecot.Doveconf, services: append([]string(nil), cfg.Dovecot.Services...), procs: t,
			now: time.Now}
	}
	return c
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, pfProcsDesc, pfLimitDesc, pfStressDesc, pfSmtpdDesc, pfAnvilDesc, pfSuccessDesc,
		dcProcsDesc, dcProcLimitDesc, dcClientLimitDesc, dcSuccessDesc)
}

// Update implements collectors.Collector. The process table is read once;
// postconf and doveconf run under the run's context (Command kills them at
// its end).
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	all, err := c.procs.list()
	if err != nil {
		return fmt.Errorf("read the process table: %w", err)
	}
	parts, failed, absent := 0, 0, 0
	if c.postfix != nil {
		for _, r := range c.postfix.read(ctx, all) {
			parts++
			failed, absent = tally(r.err, failed, absent)
			c.note("postfix "+r.name, r.err)
			c.emitPostfix(ch, r)
		}
	}
	if c.dovecot != nil {
		parts++
		r := c.dovecot.read(ctx, all)
		failed, absent = tally(r.err, failed, absent)
		c.note("dovecot", r.err)
		c.emitDovecot(ch, r)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case parts > 0 && absent == parts:
		return fmt.Errorf("neither postconf nor doveconf is installed: %w", collectors.ErrNotApplicable)
	case parts > 0 && failed == parts && absent == 0:
		return errors.New("no Postfix instance nor Dovecot could be read (see the log)")
	}
	return nil
}

// tally counts a part that could not be read (a master that is not
// running is data: its processes are 0) and one whose program is missing.
func tally(err error, failed, absent int) (int, int) {
	if err == nil || errors.Is(err, errNoMaster) {
		return failed, absent
	}
	if isAbsent(err) {
		absent++
	}
	return failed + 1, absent
}

// isAbsent: the program is not installed (exec: not found).
func isAbsent(err error) bool {
	return errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist)
}

func (c *Collector) note(key string, err error) {
	p := collectors.Problem{Level: zap.WarnLevel, Failed: "cannot measure process saturation", Recovered: "process saturation measurable again"}
	if errors.Is(err, errNoMaster) || isAbsent(err) {
		p.Level = zap.InfoLevel
	}
	c.logs.Note(c.logger, key, err, p, zap.String("part", key))
}

func (c *Collector) emitPostfix(ch chan<- prometheus.Metric, r pfResult) {
	ch <- collectors.Gauge(pfSuccessDesc, collectors.B2F(r.err == nil), r.name)
	if r.services == nil {
		return
	}
	if r.anvilUnit >= 0 {
		ch <- collectors.Gauge(pfAnvilDesc, r.anvilUnit, r.name)
	}
	// Processes are known when the master was found, or is not running
	// (then there are none).
	countable := r.err == nil || errors.Is(r.err, errNoMaster)
	var rest pfServiceResult
	restLimited, restN := true, 0
	for i, s := range labelOrder(r.services) {
		if i >= c.maxServices {
			restN++
			rest.procs += s.procs
			rest.stress = rest.stress || s.stress
			rest.limit += s.limit
			restLimited = restLimited && s.limit > 0
			continue
		}
		c.emitPfService(ch, r.name, s.key, s, countable)
		for j, l := range smtpdLimits {
			if s.smtpd != nil && s.smtpd[j] >= 0 {
				ch <- collectors.Gauge(pfSmtpdDesc, s.smtpd[j], r.name, s.key, l.label)
			}
		}
	}
	if restN > 0 {
		if !restLimited {
			rest.limit = 0
		}
		c.emitPfService(ch, r.name, other, rest, countable)
	}
}

// labelOrder is the order in which services get a label of their own: the
// public ones (inet, and pass, which postscreen hands clients to) first,
// where clients meet the limit, then the others, each in master.cf order,
// so that the label set is stable and an smtpd service added at the end of
// a long master.cf is not summed away.
func labelOrder(svcs []pfServiceResult) []pfServiceResult {
	out := make([]pfServiceResult, 0, len(svcs))
	for _, public := range []bool{true, false} {
		for _, s := range svcs {
			if isPublic(s.key) == public {
				out = append(out, s)
			}
		}
	}
	return out
}

func isPublic(key string) bool {
	return strings.HasSuffix(key, "/inet") || strings.HasSuffix(key, "/pass")
}

func (c *Collector) emitPfService(ch chan<- prometheus.Metric, inst, key string, s pfServiceResult, countable bool) {
	if countable {
		ch <- collectors.Gauge(pfProcsDesc, float64(s.procs), inst, key)
		ch <- collectors.Gauge(pfStressDesc, collectors.B2F(s.stress), inst, key)
	}
	if s.limit > 0 {
		ch <- collectors.Gauge(pfLimitDesc, float64(s.limit), inst, key)
	}
}

func (c *Collector) emitDovecot(ch chan<- prometheus.Metric, r dcResult) {
	ch <- collectors.Gauge(dcSuccessDesc, collectors.B2F(r.err == nil))
	for _, s := range r.services {
		if !s.found {
			continue
		}
		ch <- collectors.Gauge(dcProcsDesc, float64(s.procs), s.name)
		if s.processLimit > 0 {
			ch <- collectors.Gauge(dcProcLimitDesc, float64(s.processLimit), s.name)
		}
		if s.clientLimit > 0 {
			ch <- collectors.Gauge(dcClientLimitDesc, float64(s.clientLimit), s.name)
		}
	}
}

var _ collectors.Collector = (*Collector)(nil)
