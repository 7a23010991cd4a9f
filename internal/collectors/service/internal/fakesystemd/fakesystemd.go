// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package fakesystemd stands in for systemd on a real D-Bus bus, for tests
// on machines where systemd cannot run as PID 1. It owns the name
// org.freedesktop.systemd1 and serves the part of the API the service
// collector uses, with systemd's signatures and object paths:
// Manager.ListUnitsByNames on /org/freedesktop/systemd1, and
// org.freedesktop.DBus.Properties.Get of the Unit, Service and Timer interfaces on
// /org/freedesktop/systemd1/unit/<escaped name>. It can also stop answering,
// like a hung systemd.
//
// Bus starts a private dbus-daemon for a test.
package fakesystemd

import (
	"encoding/hex"
	"fmt"
	"math"
	"path"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
)

// D-Bus names systemd uses.
const (
	BusName      = "org.freedesktop.systemd1"
	ManagerPath  = dbus.ObjectPath("/org/freedesktop/systemd1")
	UnitPrefix   = "/org/freedesktop/systemd1/unit"
	managerIface = "org.freedesktop.systemd1.Manager"
	unitIface    = "org.freedesktop.systemd1.Unit"
	serviceIface = "org.freedesktop.systemd1.Service"
	timerIface   = "org.freedesktop.systemd1.Timer"
	propsIface   = "org.freedesktop.DBus.Properties"
)

// Unset is what systemd reports for MemoryCurrent and CPUUsageNSec when it
// does not know them (UINT64_MAX, shown as "[not set]" by systemctl).
const Unset = math.MaxUint64

// Unit is one unit as the fake reports it.
type Unit struct {
	Name        string
	LoadState   string // "" means loaded
	ActiveState string // "" means active
	SubState    string
	// NRestarts, ActiveEnterTimestamp (microseconds since the epoch),
	// MemoryCurrent and CPUUsageNSec as systemd exports them.
	NRestarts            uint32
	ActiveEnterTimestamp uint64
	MemoryCurrent        uint64
	CPUUsageNSec         uint64
	// Timers: LastTriggerUSec and NextElapseUSecRealtime (microseconds
	// since the epoch, 0 for never), and Trigger, the Timer interface's
	// Unit property (the unit it starts).
	LastTriggerUSec        uint64
	NextElapseUSecRealtime uint64
	Trigger                string
	// Services: Result ("" means "success") and ExecMainStatus of the
	// last run.
	Result         string
	ExecMainStatus int32
	// Fail maps a property name to the D-Bus error name a Get of it answers.
	Fail map[string]string
}

// Manager is the fake systemd.
type Manager struct {
	conn *dbus.Conn

	mu       sync.Mutex
	units    map[string]Unit
	hang     chan struct{} // non-nil while calls hang; closed to release them
	hangOnly map[string]bool
	calls    map[string]int
	closed   bool
}

// Serve connects to the bus at address, takes the systemd name and starts
// answering.
func Serve(address string) (*Manager, error) {
	conn, err := dbus.Dial(address)
	if err != nil {
		return nil, err
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("auth: %w", err)
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("hello: %w", err)
	}
	m := &Manager{conn: conn, units: map[string]Unit{}, calls: map[string]int{}}
	if err := conn.ExportMethodTable(map[string]any{"ListUnitsByNames": m.listUnitsByNames}, ManagerPath, managerIface); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.ExportSubtreeMethodTable(map[string]any{"Get": m.get}, UnitPrefix, propsIface); err != nil {
		conn.Close()
		return nil, err
	}
	reply, err := conn.RequestName(BusName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		conn.Close()
		return nil, fmt.Errorf("request name %s: reply %v, %v", BusName, reply, err)
	}
	return m, nil
}

// SetUnits replaces the units the fake knows; any other name is reported as
// not-found, as systemd does.
func (m *Manager) SetUnits(units ...Unit) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.units = map[string]Unit{}
	for _, u := range units {
		m.units[u.Name] = u
	}
}

// Hang makes later calls of the named methods ("ListUnitsByNames", "Get";
// every method when none is named) block without an answer, like a hung
// systemd, until Release.
func (m *Manager) Hang(methods ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hang == nil {
		m.hang = make(chan struct{})
	}
	m.hangOnly = map[string]bool{}
	for _, x := range methods {
		m.hangOnly[x] = true
	}
}

// Release answers the blocked calls (late) and stops hanging.
func (m *Manager) Release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hang != nil {
		close(m.hang)
		m.hang = nil
	}
}

// Calls returns how many calls of a method ("ListUnitsByNames", "Get")
// arrived.
func (m *Manager) Calls(method string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[method]
}

// Close releases hung calls and leaves the bus.
func (m *Manager) Close() error {
	m.Release()
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return m.conn.Close()
}

// enter counts a call and blocks while the fake hangs.
func (m *Manager) enter(method string) {
	m.mu.Lock()
	m.calls[method]++
	hang := m.hang
	if len(m.hangOnly) > 0 && !m.hangOnly[method] {
		hang = nil
	}
	m.mu.Unlock()
	if hang != nil {
		<-hang
	}
}

func (m *Manager) unit(name string) Unit {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.units[name]; ok {
		if u.LoadState == "" {
			u.LoadState = "loaded"
		}
		if u.ActiveState == "" {
			u.ActiveState = "active"
		}
		if u.SubState == "" {
			u.SubState = map[string]string{"active": "running", "failed": "failed"}[u.ActiveState]
		}
		return u
	}
	return Unit{Name: name, LoadState: "not-found", ActiveState: "inactive", SubState: "dead", MemoryCurrent: Unset, CPUUsageNSec: Unset}
}

// unitInfo is one entry of ListUnits* replies, signature (ssssssouso).
type unitInfo struct {
	Name, Description, LoadState, ActiveState, SubState, Followed string
	Path                                                          dbus.ObjectPath
	JobID                                                         uint32
	JobType                                                       string
	JobPath                                                       dbus.ObjectPath
}

func (m *Manager) listUnitsByNames(names []string) ([]unitInfo, *dbus.Error) {
	m.enter("ListUnitsByNames")
	out := make([]unitInfo, 0, len(names))
	for _, n := range names {
		u := m.unit(n)
		out = append(out, unitInfo{
			Name: u.Name, Description: u.Name, LoadState: u.LoadState, ActiveState: u.ActiveState,
			SubState: u.SubState, Path: UnitPath(u.Name), JobPath: "/",
		})
	}
	return out, nil
}

func (m *Manager) get(msg dbus.Message, iface, prop string) (dbus.Variant, *dbus.Error) {
	m.enter("Get")
	p, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	u := m.unit(unescape(path.Base(string(p))))
	if name, ok := u.Fail[prop]; ok {
		return dbus.Variant{}, dbus.NewError(name, []any{"fake failure of " + prop})
	}
	isService := strings.HasSuffix(u.Name, ".service")
	isTimer := strings.HasSuffix(u.Name, ".timer")
	if u.Result == "" {
		u.Result = "success"
	}
	switch {
	case iface == timerIface && !isTimer:
		return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownInterface", []any{"Unknown interface " + iface})
	case iface == timerIface && prop == "LastTriggerUSec":
		return dbus.MakeVariant(u.LastTriggerUSec), nil
	case iface == timerIface && prop == "NextElapseUSecRealtime":
		return dbus.MakeVariant(u.NextElapseUSecRealtime), nil
	case iface == timerIface && prop == "Unit":
		return dbus.MakeVariant(u.Trigger), nil
	case iface == timerIface && prop == "Result":
		return dbus.MakeVariant("success"), nil
	case iface == unitIface && prop == "ActiveEnterTimestamp":
		return dbus.MakeVariant(u.ActiveEnterTimestamp), nil
	case iface == unitIface && prop == "ActiveState":
		return dbus.MakeVariant(u.ActiveState), nil
	case iface == unitIface && prop == "LoadState":
		return dbus.MakeVariant(u.LoadState), nil
	case iface == serviceIface && !isService:
		return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownInterface", []any{"Unknown interface " + iface})
	case iface == serviceIface && prop == "Result":
		return dbus.MakeVariant(u.Result), nil
	case iface == serviceIface && prop == "ExecMainStatus":
		return dbus.MakeVariant(u.ExecMainStatus), nil
	case iface == serviceIface && prop == "NRestarts":
		return dbus.MakeVariant(u.NRestarts), nil
	case iface == serviceIface && prop == "MemoryCurrent":
		return dbus.MakeVariant(u.MemoryCurrent), nil
	case iface == serviceIface && prop == "CPUUsageNSec":
		return dbus.MakeVariant(u.CPUUsageNSec), nil
	}
	return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{"Unknown property " + prop})
}

// UnitPath is the object path systemd gives a unit: every byte outside
// [A-Za-z0-9] (and a leading digit) becomes _xx.
func UnitPath(name string) dbus.ObjectPath {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02x", c)
	}
	return dbus.ObjectPath(UnitPrefix + "/" + b.String())
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+2 < len(s) {
			if v, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				b.Write(v)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
