// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
)

// authGuard runs in front of exporter-toolkit's basic auth and bounds what
// failed authentications cost. exporter-toolkit checks every password it
// has not seen with bcrypt (tens of milliseconds of CPU), one check at a
// time, and remembers the outcome in a 100-entry cache with random
// eviction: a flood of random wrong passwords keeps a core busy, pushes
// the good credentials out of that cache, and queues Prometheus's scrapes
// behind the flood's checks.
//
// The guard passes on at once the requests whose credentials have already
// succeeded since the daemon started (it remembers an HMAC of the user,
// the configured hash and the password under a random per-process key,
// never the password). It checks other credentials itself, maxChecks at a
// time; requests waiting for a check take turns by client address, so a
// flood from a few addresses delays another client's first login by one
// check per flooding address, and give up with 429 after wait. Wrong
// credentials are answered 401 as exporter-toolkit answers them and never
// reach it, so its cache keeps the good ones. Everything the guard lets
// through still goes through exporter-toolkit's own checks, which stay
// the authority (TLS, rate limit, headers, and the password check itself).
type authGuard struct {
	configFile string
	compare    func(hash, password []byte) error
	wait       time.Duration
	pressure   *pressure
	key        [32]byte
	checks     *turns

	mu       sync.Mutex
	good     map[[sha256.Size]byte]struct{}
	cfg      *guardConfig
	cfgStamp fileStamp
}

// maxGoodCredentials bounds the remembered good credentials; only correct
// passwords add to it, so it stays as small as the set of scrapers.
const maxGoodCredentials = 256

// unknownUserHash is what the password of an unknown user is compared with,
// so that the time of a refusal does not tell which users exist: a bcrypt
// hash (cost 10, bcrypt's default) of a random password that was thrown
// away once the hash was made. A constant, so that no request pays for
// making it.
const unknownUserHash = "$2a$10$iYVj7eQdOsLJKPyzWqBAoODkatzw4UL82miGoU.oR4ztrFnpt7zra"

func newAuthGuard(configFile string, maxChecks int, wait time.Duration, compare func(hash, password []byte) error, p *pressure) *authGuard {
	g := &authGuard{
		configFile: configFile, compare: compare, wait: wait, pressure: p,
		checks: newTurns(maxChecks), good: map[[sha256.Size]byte]struct{}{},
	}
	if g.compare == nil {
		g.compare = bcrypt.CompareHashAndPassword
	}
	rand.Read(g.key[:]) // never fails (crypto/rand)
	return g
}

func (g *authGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serve(w, r, next) })
}

func (g *authGuard) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		next.ServeHTTP(w, r) // exporter-toolkit answers 401 or serves, without bcrypt
		return
	}
	cfg := g.config()
	if cfg == nil || len(cfg.Users) == 0 {
		next.ServeHTTP(w, r) // exporter-toolkit reports a bad file, or auth is off
		return
	}
	hash, known := cfg.Users[user]
	sum := g.sum(user, hash, pass)
	if g.isGood(sum) {
		next.ServeHTTP(w, r)
		return
	}
	if !g.checks.acquire(r.Context(), addrKeyString(r.RemoteAddr), g.wait) {
		if r.Context().Err() != nil {
			return // the client left
		}
		g.pressure.note("refused_password_checks")
		setHeaders(w, cfg)
		w.Header().Set("Retry-After", "1")
		http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
		return
	}
	if !known {
		hash = unknownUserHash
	}
	err := func() error {
		defer g.checks.release()
		return g.compare([]byte(hash), []byte(pass))
	}()
	if !known || err != nil {
		setHeaders(w, cfg)
		w.Header().Set("WWW-Authenticate", "Basic")
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	g.remember(sum)
	next.ServeHTTP(w, r)
}

// setHeaders sets the web config's http_server_config headers, as
// exporter-toolkit does on every response.
func setHeaders(w http.ResponseWriter, cfg *guardConfig) {
	for k, v := range cfg.HTTP.Headers {
		w.Header().Set(k, v)
	}
}

func (g *authGuard) sum(user, hash, pass string) [sha256.Size]byte {
	m := hmac.New(sha256.New, g.key[:])
	for _, s := range [...]string{user, hash, pass} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		m.Write(n[:])
		m.Write([]byte(s))
	}
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

func (g *authGuard) isGood(sum [sha256.Size]byte) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.good[sum]
	return ok
}

func (g *authGuard) remember(sum [sha256.Size]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.good) >= maxGoodCredentials {
		for k := range g.good {
			delete(g.good, k)
			break
		}
	}
	g.good[sum] = struct{}{}
}

// turns lets n holders at a time through; the others wait in one queue per
// client address, and the addresses take turns.
type turns struct {
	mu     sync.Mutex
	free   int
	queues map[string][]chan struct{}
	ring   []string // the addresses with waiters, next turn first
}

func newTurns(n int) *turns { return &turns{free: n, queues: map[string][]chan struct{}{}} }

// acquire waits for a turn for addr until ctx ends or wait passes.
func (q *turns) acquire(ctx context.Context, addr string, wait time.Duration) bool {
	q.mu.Lock()
	if q.free > 0 {
		q.free--
		q.mu.Unlock()
		return true
	}
	ch := make(chan struct{})
	if len(q.queues[addr]) == 0 {
		q.ring = append(q.ring, addr)
	}
	q.queues[addr] = append(q.queues[addr], ch)
	q.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-ch: // handed a turn meanwhile: pass it on
		q.releaseLocked()
		return false
	default:
	}
	queue := q.queues[addr]
	i := slices.Index(queue, ch)
	queue = slices.Delete(queue, i, i+1)
	if len(queue) == 0 {
		delete(q.queues, addr)
		q.ring = slices.DeleteFunc(q.ring, func(a string) bool { return a == addr })
	} else {
		q.queues[addr] = queue
	}
	return false
}

func (q *turns) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.releaseLocked()
}

// releaseLocked hands the turn to the first waiter of the next address.
func (q *turns) releaseLocked() {
	if len(q.ring) == 0 {
		q.free++
		return
	}
	addr := q.ring[0]
	q.ring = q.ring[1:]
	queue := q.queues[addr]
	close(queue[0])
	if queue = queue[1:]; len(queue) > 0 {
		q.queues[addr] = queue
		q.ring = append(q.ring, addr)
	} else {
		delete(q.queues, addr)
	}
}

// waiting counts the requests waiting for a turn.
func (q *turns) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, queue := range q.queues {
		n += len(queue)
	}
	return n
}

// guardConfig is the part of the web config file the guard reads.
// exporter-toolkit reads the file again on every request, so changes to
// basic_auth_users apply at once; the guard rereads it when it changes.
type guardConfig struct {
	Users map[string]string `yaml:"basic_auth_users"`
	HTTP  struct {
		Headers map[string]string `yaml:"headers"`
	} `yaml:"http_server_config"`
}

type fileStamp struct {
	size    int64
	modTime time.Time
}

// config returns the web config, or nil if it cannot be read, in which
// case exporter-toolkit answers the request (500).
func (g *authGuard) config() *guardConfig {
	fi, err := os.Stat(g.configFile)
	if err != nil {
		return nil
	}
	stamp := fileStamp{size: fi.Size(), modTime: fi.ModTime()}
	g.mu.Lock()
	if g.cfg != nil && g.cfgStamp == stamp {
		defer g.mu.Unlock()
		return g.cfg
	}
	g.mu.Unlock()
	data, err := os.ReadFile(g.configFile)
	if err != nil {
		return nil
	}
	cfg := &guardConfig{}
	if err := yaml.Unmarshal(data, cfg); err != nil {
		return nil
	}
	g.mu.Lock()
	g.cfg, g.cfgStamp = cfg, stamp
	g.mu.Unlock()
	return cfg
}
