// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package web serves mailwatchd's HTTP endpoints: /metrics, a landing page
// listing the collectors, /-/healthy, /-/ready and POST /-/reload. TLS and
// basic auth come from exporter-toolkit's web config file, the convention
// every Prometheus exporter follows.
package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/buildinfo"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
)

// Options wire the handler to the rest of the daemon.
type Options struct {
	Gatherer prometheus.Gatherer
	// Statuses lists the collectors for the landing page.
	Statuses func() []scheduler.Status
	// Ready reports whether every collector has completed a first run.
	Ready func() bool
	// Reload applies the config file again; nil disables /-/reload.
	Reload func() error
	Logger *zap.Logger
}

// NewHandler builds the mux.
func NewHandler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 10,
		Timeout:             10 * time.Second, // a backstop: snapshots make scrapes O(series)
		ErrorLog:            zap.NewStdLog(o.Logger),
	}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "mailwatchd is healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if o.Ready != nil && !o.Ready() {
			http.Error(w, "mailwatchd is starting: not every collector has finished its first run.", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "mailwatchd is ready.")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "use POST to reload the configuration", http.StatusMethodNotAllowed)
			return
		}
		if o.Reload == nil {
			http.Error(w, "reload is not available", http.StatusNotFound)
			return
		}
		if err := o.Reload(); err != nil {
			http.Error(w, "reload failed, the previous configuration stays in use:\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "configuration reloaded.")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		var st []scheduler.Status
		if o.Statuses != nil {
			st = o.Statuses()
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := landing.Execute(w, landingData{Version: buildinfo.String(), Collectors: st}); err != nil {
			o.Logger.Debug("write landing page", zap.Error(err))
		}
	})
	return mux
}

type landingData struct {
	Version    string
	Collectors []scheduler.Status
}

var landing = template.Must(template.New("landing").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>mailwatchd</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.2em .8em;text-align:left}.ok{color:#080}.fail{color:#b00}</style>
</head><body>
<h1>mailwatchd</h1>
<p>{{.Version}}</p>
<p><a href="/metrics">Metrics</a> · <a href="/-/healthy">Health</a> · <a href="/-/ready">Readiness</a></p>
<h2>Collectors</h2>
<table><tr><th>collector</th><th>last run</th><th>status</th><th>duration</th><th>runs</th><th>failures</th><th>last error</th></tr>
{{range .Collectors}}<tr><td>{{.Name}}</td><td>{{ago .LastRun}}</td>
<td>{{if .Success}}<span class="ok">ok</span>{{else if eq .Runs 0}}pending{{else}}<span class="fail">failing</span>{{end}}</td>
<td>{{.Duration}}</td><td>{{.Runs}}</td><td>{{.Failures}}</td><td>{{.LastError}}</td></tr>
{{else}}<tr><td colspan="7">no collector is enabled</td></tr>{{end}}
</table></body></html>
`))

// ServerConfig says where and how to listen.
type ServerConfig struct {
	ListenAddresses []string
	SystemdSocket   bool
	WebConfigFile   string
}

// Listen opens the listeners now, so that a busy port fails the start
// before systemd is told the daemon is ready.
func Listen(c ServerConfig) ([]net.Listener, error) {
	if c.SystemdSocket {
		ls, err := activation.Listeners()
		if err != nil {
			return nil, fmt.Errorf("systemd socket activation: %w", err)
		}
		if len(ls) == 0 {
			return nil, errors.New("systemd socket activation: no sockets passed")
		}
		return ls, nil
	}
	var out []net.Listener
	for _, a := range c.ListenAddresses {
		l, err := net.Listen("tcp", a)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, fmt.Errorf("listen on %s: %w", a, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// Server serves the handler on listeners through exporter-toolkit.
type Server struct {
	srv  *http.Server
	errc chan error
}

// Serve starts serving in the background. Errors other than a clean
// shutdown arrive on Err.
func Serve(ls []net.Listener, h http.Handler, webConfigFile string, logger *slog.Logger) *Server {
	s := &Server{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		errc: make(chan error, 1),
	}
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &[]string{"unused"}, WebSystemdSocket: &systemd, WebConfigFile: &webConfigFile}
	go func() {
		err := web.ServeMultiple(ls, s.srv, flags, logger)
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- err
		}
	}()
	return s
}

// Err delivers a fatal serving error.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops accepting and waits for in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
