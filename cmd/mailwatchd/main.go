// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Command mailwatchd watches a self-hosted mail server (Postfix, Dovecot,
// OpenDKIM, fail2ban, ...) and exports what its operator needs as
// Prometheus metrics.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mailwatchd/mailwatchd/internal/buildinfo"
	"github.com/mailwatchd/mailwatchd/internal/config"
)

// DefaultListenAddress is mailwatchd's fixed port. The exporter range
// 9100-9999 is fully allocated; 10099 is used by no common mail tool
// (amavis takes 10024/10025, Zabbix 10050/10051).
const DefaultListenAddress = ":10099"

// options are the command-line flags.
type options struct {
	configFile    string
	configCheck   bool
	version       bool
	listen        listFlag
	webConfig     string
	systemdSocket bool
	logLevel      string
	logFormat     string
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mailwatchd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configFile, "config.file", config.DefaultPath, "Path to the YAML configuration file.")
	fs.BoolVar(&o.configCheck, "config.check", false, "Load and validate the configuration, compile every pattern, open nothing; exit 0 if valid, 1 if not.")
	fs.BoolVar(&o.version, "version", false, "Print the version and exit.")
	fs.Var(&o.listen, "web.listen-address", "Address to serve /metrics on (repeatable). Default "+DefaultListenAddress+".")
	fs.StringVar(&o.webConfig, "web.config.file", "", "Path to an exporter-toolkit web config file enabling TLS and/or basic auth.")
	fs.BoolVar(&o.systemdSocket, "web.systemd-socket", false, "Use the listening socket passed by systemd socket activation instead of --web.listen-address.")
	fs.StringVar(&o.logLevel, "log.level", "info", "Log level: debug, info, warn or error.")
	fs.StringVar(&o.logFormat, "log.format", "json", "Log format: json (for journald and log shippers) or console (for humans).")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mailwatchd [serve] [flags]\n       mailwatchd check [--format table|json|summary]\n       mailwatchd doctor\n       mailwatchd replay [--format text|prometheus] [FILE...]\n       mailwatchd report [--since 24h|7d|DATE] [--format text|html|json] [--mail-to ADDRESS] [FILE...]\n       mailwatchd maintenance start --for 2h [--reason TEXT] | stop | status\n\nServes Prometheus metrics about this mail host on %s/metrics.\n\nFlags:\n", DefaultListenAddress)
		fs.PrintDefaults()
	}
	return fs
}

// commandFlags is the flag set of a command other than serve: errors to
// stderr, and its usage, the text then the flags.
func commandFlags(name string, stderr io.Writer, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// configFileFlag is --config.file of the commands that need a configuration.
func configFileFlag(fs *flag.FlagSet) *string {
	return fs.String("config.file", config.DefaultPath, "Path to the YAML configuration file.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process exit, so tests can drive it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "check":
			return runCheck(args[1:], stdout, stderr)
		case "doctor":
			return runDoctor(args[1:], stdout, stderr)
		case "replay":
			return runReplay(args[1:], os.Stdin, stdout, stderr)
		case "report":
			return runReport(args[1:], os.Stdin, stdout, stderr)
		case "maintenance":
			return runMaintenance(args[1:], stdout, stderr)
		case "serve":
			args = args[1:]
		default:
			fmt.Fprintf(stderr, "mailwatchd: unknown command %q (commands: serve, check, doctor, replay, report, maintenance; run mailwatchd --help)\n", args[0])
			return 2
		}
	}
	var o options
	fs := newFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mailwatchd: unknown command %q (run mailwatchd --help)\n", fs.Arg(0))
		return 2
	}
	if o.version {
		fmt.Fprintln(stdout, buildinfo.String())
		return 0
	}
	if len(o.listen) == 0 {
		o.listen = listFlag{DefaultListenAddress}
	}
	if o.configCheck {
		return checkConfig(o, stdout, stderr)
	}
	logger, err := newLogger(o.logLevel, o.logFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mailwatchd: %v\n", err)
		return 2
	}
	defer logger.Sync() //nolint:errcheck // nothing to do if stderr is gone
	return serve(o, logger)
}

// checkConfig is --config.check: load and validate, open nothing.
func checkConfig(o options, stdout, stderr io.Writer) int {
	if _, err := config.Load(o.configFile); err != nil {
		fmt.Fprintf(stderr, "mailwatchd: configuration is invalid: %v\n", err)
		return 1
	}
	if err := validateWebConfig(o.webConfig); err != nil {
		fmt.Fprintf(stderr, "mailwatchd: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: configuration is valid\n", o.configFile)
	return 0
}

func newLogger(level, format string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log.level: %w", err)
	}
	var enc zapcore.Encoder
	switch format {
	case "json":
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	case "console":
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.RFC3339TimeEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("--log.format: want json or console, got %q", format)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)
	if format == "json" {
		// Sampling keeps a failing collector or a log storm from flooding journald.
		core = zapcore.NewSamplerWithOptions(core, 1e9, 100, 100)
	}
	return zap.New(core, zap.ErrorOutput(zapcore.AddSync(w))), nil
}
