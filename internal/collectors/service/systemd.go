// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// dialFunc opens a connection to systemd. The connection lives until ctx is
// cancelled (godbus closes a connection when the context it was dialled
// with ends), so ctx is the connection's lifetime, not a deadline; the
// caller cancels it to abort a dial that hangs.
type dialFunc func(ctx context.Context) (*sd.Conn, error)

// systemBus dials the system bus, as any user may for the calls made here.
// As root, when the bus is down, go-systemd falls back to systemd's private
// socket /run/systemd/private.
func systemBus(ctx context.Context) (*sd.Conn, error) { return sd.NewWithContext(ctx) }

// errUnknownProperty is what systemd answers for a property it does not
// have: NRestarts came with systemd 235, CPUUsageNSec with 220.
const errUnknownProperty = "org.freedesktop.DBus.Error.UnknownProperty"

// systemdSource asks systemd about the configured units over one D-Bus
// connection, kept between runs and replaced after a failure.
//
// Every call carries the run's context. godbus gives up on a call when its
// context ends, but the dial (authentication and Hello take no context) and
// a write to a peer that stopped reading do not; so when a run's context
// ends, the connection is closed, which makes anything still blocked on it
// return. Closing also frees the reply slots an abandoned call holds in
// dbus-daemon (which caps pending replies per connection).
type systemdSource struct {
	units  []unitSpec
	names  []string
	timers []string // timer units, for Timers
	dial   dialFunc
	life   context.Context
	stop   context.CancelFunc

	mu        sync.Mutex
	conn      *sd.Conn
	closeConn context.CancelFunc // ends the current connection or dial
	run       uint64             // number of the query in progress
	closed    bool
}

type unitSpec struct {
	name     string
	optional bool
}

func newSystemdSource(units []unitSpec, dial dialFunc) *systemdSource {
	life, stop := context.WithCancel(context.Background())
	s := &systemdSource{units: units, dial: dial, life: life, stop: stop}
	for _, u := range units {
		s.names = append(s.names, u.name)
	}
	return s
}

// Query implements source.
func (s *systemdSource) Query(ctx context.Context) ([]status, error) {
	conn, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	list, err := conn.ListUnitsByNamesContext(ctx, s.names)
	if err != nil {
		s.failed(err)
		return nil, fmt.Errorf("systemd ListUnitsByNames: %w", err)
	}
	// systemd answers in the order asked, but silently skips names it finds
	// invalid; then positions no longer match.
	if len(list) != len(s.units) {
		return nil, fmt.Errorf("systemd ListUnitsByNames returned %d units for %d names", len(list), len(s.units))
	}
	out := make([]status, len(s.units))
	for i, u := range s.units {
		st, err := readUnit(ctx, conn, u, list[i])
		if err != nil {
			s.failed(err)
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// begin starts a query: it numbers it, arranges for its connection to be
// closed when ctx ends before done is called, and connects.
func (s *systemdSource) begin(ctx context.Context) (*sd.Conn, func(), error) {
	s.mu.Lock()
	s.run++
	run := s.run
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { s.abort(run) })
	conn, err := s.connect()
	if err != nil {
		stop()
		return nil, nil, err
	}
	return conn, func() { stop() }, nil
}

// present reports whether a unit is there for monitoring. A masked unit
// cannot be started: it is not there, unless it is still running from
// before it was masked.
func present(us sd.UnitStatus) bool {
	return (us.LoadState != "not-found" && us.LoadState != "masked") || us.ActiveState != "inactive"
}

// readUnit builds one unit's status from its ListUnitsByNames entry and
// the properties that entry does not carry.
func readUnit(ctx context.Context, conn *sd.Conn, u unitSpec, us sd.UnitStatus) (status, error) {
	st := status{Name: u.name, Optional: u.optional, State: us.ActiveState}
	st.Present = present(us)
	if !st.Present {
		return st, nil
	}
	r := propReader{ctx: ctx, conn: conn, unit: u.name}
	typ := unitType(u.name)
	if typ == "Service" {
		if v, ok := r.uint(typ, "NRestarts"); ok {
			st.Restarts = some(float64(v))
		}
	}
	if running(st.State) {
		// Microseconds since the epoch; 0 means never.
		if v, ok := r.uint("Unit", "ActiveEnterTimestamp"); ok && v > 0 {
			st.StartTime = some(float64(v) / 1e6)
		}
	}
	if hasCgroup(typ) && st.State != "inactive" && st.State != "failed" {
		// UINT64_MAX means "not known": no cgroup yet, or accounting off.
		if v, ok := r.uint(typ, "MemoryCurrent"); ok && v != math.MaxUint64 {
			st.MemoryBytes = some(float64(v))
		}
		if v, ok := r.uint(typ, "CPUUsageNSec"); ok && v != math.MaxUint64 {
			st.CPUSeconds = some(float64(v) / 1e9)
		}
	}
	if r.fatal != nil {
		return status{}, r.fatal
	}
	st.Err = errors.Join(r.errs...)
	return st, nil
}

// propReader reads unsigned integer properties of one unit. An error reply
// from systemd is that unit's problem and is kept in errs; any other error
// (closed connection, deadline) ends the run and is kept in fatal, after
// which nothing more is asked.
type propReader struct {
	ctx   context.Context
	conn  *sd.Conn
	unit  string
	errs  []error
	fatal error
}

// get reads one property; false when it could not be read (the reason is
// in errs or fatal) or does not exist.
func (r *propReader) get(iface, prop string) (dbus.Variant, bool) {
	if r.fatal != nil {
		return dbus.Variant{}, false
	}
	p, err := r.conn.GetUnitTypePropertyContext(r.ctx, r.unit, iface, prop)
	if err != nil {
		var de dbus.Error
		switch {
		case errors.As(err, &de) && de.Name == errUnknownProperty:
			// An older systemd: the figure does not exist, nothing failed.
		case errors.As(err, &de):
			r.errs = append(r.errs, fmt.Errorf("get %s of %s: %w", prop, r.unit, err))
		default:
			r.fatal = fmt.Errorf("get %s of %s: %w", prop, r.unit, err)
		}
		return dbus.Variant{}, false
	}
	return p.Value, true
}

// str reads a string property.
func (r *propReader) str(iface, prop string) (string, bool) {
	v, ok := r.get(iface, prop)
	if !ok {
		return "", false
	}
	if s, ok := v.Value().(string); ok {
		return s, true
	}
	r.errs = append(r.errs, fmt.Errorf("%s of %s has D-Bus type %s, want a string", prop, r.unit, v.Signature()))
	return "", false
}

// int reads a signed 32-bit property (ExecMainStatus).
func (r *propReader) int(iface, prop string) (int32, bool) {
	v, ok := r.get(iface, prop)
	if !ok {
		return 0, false
	}
	if i, ok := v.Value().(int32); ok {
		return i, true
	}
	r.errs = append(r.errs, fmt.Errorf("%s of %s has D-Bus type %s, want int32", prop, r.unit, v.Signature()))
	return 0, false
}

func (r *propReader) uint(iface, prop string) (uint64, bool) {
	p, ok := r.get(iface, prop)
	if !ok {
		return 0, false
	}
	switch v := p.Value().(type) {
	case uint64:
		return v, true
	case uint32:
		return uint64(v), true
	}
	r.errs = append(r.errs, fmt.Errorf("%s of %s has D-Bus type %s, want an unsigned integer", prop, r.unit, p.Signature()))
	return 0, false
}

// unitType returns the D-Bus interface suffix of a unit's type:
// "postfix@-.service" -> "Service".
func unitType(unit string) string {
	t := unit[strings.LastIndexByte(unit, '.')+1:]
	if t == "" {
		return ""
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

// hasCgroup reports whether units of a type have a control group, and so
// MemoryCurrent and CPUUsageNSec.
func hasCgroup(typ string) bool {
	switch typ {
	case "Service", "Socket", "Mount", "Swap", "Slice", "Scope":
		return true
	}
	return false
}

// connect returns the open connection, or dials a new one.
func (s *systemdSource) connect() (*sd.Conn, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("collector closed")
	}
	if s.conn != nil && s.conn.Connected() {
		c := s.conn
		s.mu.Unlock()
		return c, nil
	}
	s.dropLocked()
	lctx, cancel := context.WithCancel(s.life)
	s.closeConn = cancel
	s.mu.Unlock()

	conn, err := s.dial(lctx)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && lctx.Err() != nil { // aborted while dialling
		conn.Close()
		err = lctx.Err()
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("connect to systemd over D-Bus: %w", err)
	}
	s.conn = conn
	return conn, nil
}

// abort closes the connection of query run when that query outlives its
// context, so whatever it is blocked on returns.
func (s *systemdSource) abort(run uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run == run {
		s.dropLocked()
	}
}

// failed drops the connection after an error that did not come from the
// other side as a D-Bus error reply: the connection may be broken.
func (s *systemdSource) failed(err error) {
	var de dbus.Error
	if errors.As(err, &de) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked()
}

func (s *systemdSource) dropLocked() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	if s.closeConn != nil {
		s.closeConn()
		s.closeConn = nil
	}
}

// Close implements source.
func (s *systemdSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.dropLocked()
	s.stop()
	return nil
}
