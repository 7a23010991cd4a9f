// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package web serves mailwatchd's HTTP endpoints: /metrics, the status
// page at / (status.go), /-/healthy, /-/ready and POST /-/reload. TLS and
// basic auth come from exporter-toolkit's web config file, the convention
// every Prometheus exporter follows.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/scheduler"
)

// Options wire the handler to the rest of the daemon.
type Options struct {
	// Gatherer is what /metrics serves. A VersionedGatherer's responses
	// are encoded once per version (metrics.go).
	Gatherer prometheus.Gatherer
	// Statuses lists the collectors for the status page.
	Statuses func() []scheduler.Status
	// Verdict is `mailwatchd check`'s table over the current metrics, for
	// the status page at / (status.go); nil shows an UNKNOWN verdict.
	Verdict func() Verdict
	// Maintenance and TopSASLSenders fill the status page's sections of
	// those names. Nothing provides them yet: nil leaves them out.
	Maintenance    func() *Maintenance
	TopSASLSenders func() []SASLSender
	// Ready reports whether every collector has completed a first run.
	Ready func() bool
	// Reload applies the config file again; nil disables /-/reload.
	Reload func() error
	Logger *zap.Logger
}

// NewHandler builds the mux.
func NewHandler(o Options) http.Handler {
	mux := http.NewServeMux()
	var metrics http.Handler = promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       10 * time.Second, // a backstop: snapshots make scrapes O(series)
		ErrorLog:      zap.NewStdLog(o.Logger),
	})
	if vg, ok := o.Gatherer.(VersionedGatherer); ok {
		metrics = newCachedMetrics(vg, metrics)
	}
	mux.Handle("/metrics", queueScrapes(metrics, maxScrapesInFlight, scrapeQueueWait))
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
	mux.Handle("/", statusPage(o)) // status.go
	return mux
}

const (
	// maxScrapesInFlight scrapes are served at once, the others wait
	// their turn, in order, for up to scrapeQueueWait and then get 503.
	// With the connection limits this keeps a flood of scrapes from
	// failing Prometheus's: it waits behind at most a few hundred
	// millisecond-long scrapes instead of losing a race for a slot.
	maxScrapesInFlight = 10
	scrapeQueueWait    = 5 * time.Second
)

// queueScrapes serves at most n requests at once; the others wait, first
// come first served, until one ends, their client gives up, or wait
// passes (503).
func queueScrapes(h http.Handler, n int, wait time.Duration) http.Handler {
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		default:
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case slots <- struct{}{}:
			case <-r.Context().Done():
				return
			case <-t.C:
				http.Error(w, fmt.Sprintf("%d scrapes are being served and more are waiting; try again later.", n), http.StatusServiceUnavailable)
				return
			}
		}
		defer func() { <-slots }()
		h.ServeHTTP(w, r)
	})
}

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

// HTTP limits; the README's "HTTP limits" section explains them.
const (
	// Prometheus scrapes take milliseconds and send a few hundred bytes
	// of headers: these only bound what a slow or hostile client can hold.
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 15 * time.Second
	// writeTimeout covers a scrape's wait for a slot (scrapeQueueWait),
	// promhttp's 10 s backstop and writing the answer.
	writeTimeout = 30 * time.Second
	// idleTimeout closes keep-alive connections idle for longer than any
	// usual scrape interval, so Prometheus still reuses its connection.
	idleTimeout    = 2 * time.Minute
	maxHeaderBytes = 16 << 10
	// maxStreams bounds the concurrent requests of one HTTP/2 connection.
	maxStreams = 16
	// maxConns and maxConnsPerAddr are per listener: 64 connections
	// (a few MiB) leave room for many Prometheus servers, and no client
	// address can take more than a quarter of them.
	maxConns        = 64
	maxConnsPerAddr = 16
	// maxAuthChecks bounds the bcrypt checks of credentials not yet seen
	// to succeed running at once: one core, as exporter-toolkit does. A
	// request waits its address's turn for up to authWait, then gets 429.
	maxAuthChecks = 1
	authWait      = 5 * time.Second
)

// limits are the values serve applies; tests shorten them.
type limits struct {
	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
	maxHeaderBytes, maxStreams                                int
	maxConns, maxConnsPerAddr                                 int
	maxAuthChecks                                             int
	authWait                                                  time.Duration
	// compare checks a password against its bcrypt hash.
	compare func(hash, password []byte) error
	// noAuthGuard leaves exporter-toolkit's basic auth alone (benchmarks).
	noAuthGuard bool
}

func defaultLimits() limits {
	return limits{
		readHeaderTimeout: readHeaderTimeout, readTimeout: readTimeout, writeTimeout: writeTimeout, idleTimeout: idleTimeout,
		maxHeaderBytes: maxHeaderBytes, maxStreams: maxStreams,
		maxConns: maxConns, maxConnsPerAddr: maxConnsPerAddr,
		maxAuthChecks: maxAuthChecks, authWait: authWait,
	}
}

// Server serves the handler on listeners through exporter-toolkit.
type Server struct {
	srvs      []*http.Server
	listeners []*limitListener
	guard     *authGuard
	errc      chan error
}

// Serve starts serving in the background. Errors other than a clean
// shutdown arrive on Err.
func Serve(ls []net.Listener, h http.Handler, webConfigFile string, logger *slog.Logger) *Server {
	return serve(ls, h, webConfigFile, logger, defaultLimits())
}

func serve(ls []net.Listener, h http.Handler, webConfigFile string, logger *slog.Logger, lim limits) *Server {
	p := newPressure(logger)
	var guard *authGuard
	if webConfigFile != "" && !lim.noAuthGuard {
		guard = newAuthGuard(webConfigFile, lim.maxAuthChecks, lim.authWait, lim.compare, p)
	}
	s := &Server{guard: guard, errc: make(chan error, len(ls))}
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &[]string{"unused"}, WebSystemdSocket: &systemd, WebConfigFile: &webConfigFile}
	for _, l := range ls {
		// One http.Server per listener: exporter-toolkit's web.Serve
		// replaces the server's Handler with its auth handler, so
		// listeners sharing a server would race and stack it twice.
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: lim.readHeaderTimeout,
			ReadTimeout:       lim.readTimeout,
			WriteTimeout:      lim.writeTimeout,
			IdleTimeout:       lim.idleTimeout,
			MaxHeaderBytes:    lim.maxHeaderBytes,
			HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: lim.maxStreams},
			ConnState:         trackConnState,
		}
		ll := newLimitListener(l, lim.maxConns, lim.maxConnsPerAddr, p)
		if guard != nil {
			// web.Serve installs its auth handler and then serves; the
			// first Accept runs after that, in the same goroutine and
			// before any request, so this puts the guard in front of it.
			ll.beforeServe = func() { srv.Handler = guard.wrap(srv.Handler) }
		}
		s.srvs = append(s.srvs, srv)
		s.listeners = append(s.listeners, ll)
		go func() {
			err := web.Serve(ll, srv, flags, logger)
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.errc <- err
			}
		}()
	}
	return s
}

// Err delivers a fatal serving error.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops accepting and waits for in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	errs := make([]error, len(s.srvs))
	var wg sync.WaitGroup
	for i, srv := range s.srvs {
		wg.Go(func() { errs[i] = srv.Shutdown(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
