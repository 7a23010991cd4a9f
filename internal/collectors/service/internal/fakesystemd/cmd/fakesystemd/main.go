// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Command fakesystemd serves fake systemd units on a D-Bus bus, for
// end-to-end tests of mailwatchd on machines where systemd is not PID 1:
// start a dbus-daemon, run
//
//	fakesystemd -address unix:path=/tmp/bus -units units.json
//
// and point mailwatchd at the bus with DBUS_SYSTEM_BUS_ADDRESS. The units
// file is a JSON array of fakesystemd.Unit objects; it is read again on
// SIGHUP. SIGUSR1 makes every call hang, SIGUSR2 answers again. The command
// prints "ready" once it owns org.freedesktop.systemd1.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mailwatchd/mailwatchd/internal/collectors/service/internal/fakesystemd"
)

func main() {
	address := flag.String("address", os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"), "D-Bus address of the bus to serve on")
	unitsFile := flag.String("units", "", "JSON array of units (fakesystemd.Unit)")
	flag.Parse()
	if *address == "" || *unitsFile == "" {
		fmt.Fprintln(os.Stderr, "usage: fakesystemd -address ADDRESS -units FILE")
		os.Exit(2)
	}
	units, err := load(*unitsFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	m, err := fakesystemd.Serve(*address)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer m.Close()
	m.SetUnits(units...)
	fmt.Println("ready")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGINT, syscall.SIGTERM)
	for s := range sig {
		switch s {
		case syscall.SIGHUP:
			units, err := load(*unitsFile)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				continue
			}
			m.SetUnits(units...)
		case syscall.SIGUSR1:
			m.Hang()
		case syscall.SIGUSR2:
			m.Release()
		default:
			return
		}
	}
}

func load(path string) ([]fakesystemd.Unit, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var units []fakesystemd.Unit
	if err := json.Unmarshal(b, &units); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return units, nil
}
