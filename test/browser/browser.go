// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package browser runs Debian's headless Chromium for the tests of the
// status page (internal/web and the real-stack test/e2e), driven with
// chromedp. The browser loads loopback URLs only, keeps its profile in a
// throwaway directory, and ends with the test, by context cancel.
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium with one tab.
type Browser struct {
	ctx context.Context // the tab

	mu       sync.Mutex
	problems []string // console errors, uncaught exceptions, refused requests
}

// actionTimeout bounds each Run; the browser itself lives as long as the test.
const actionTimeout = 30 * time.Second

// New starts Chromium for the test, or skips the test when it is not
// installed (apt-get install chromium), unless MAILWATCHD_REQUIRE_TOOLS is
// set (CI), which makes its absence a failure. The browser is ended when the
// test ends: its allocator's context is cancelled, which kills the process
// chromedp started and waits for it. Never by name.
func New(t testing.TB) *Browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("MAILWATCHD_REQUIRE_TOOLS") != "" {
			t.Fatal("chromium not found (apt-get install chromium)")
		}
		t.Skip("chromium not found; apt-get install chromium to run this test")
	}
	profile := t.TempDir() // removed after the browser ended (cleanups run last in, first out)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		// Nothing but loopback: no host name resolves (so no DNS query
		// leaves, whatever the machine's resolver; the rules cover IP
		// literals too, hence the two exclusions), no proxy, no
		// component updates, pings or domain reliability reports.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE [::1]"),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-domain-reliability", true),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start as root with its sandbox ("Running as
		// root without --no-sandbox is not supported"), and CI runs the
		// tests as root. The browser only ever loads our own loopback page.
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // kills Chromium's process group and waits for it
	})
	b := &Browser{ctx: ctx}
	// The first Run starts the browser and must have no timeout: the
	// browser lives as long as the context of that call.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Listen sees the tab's events in order, before the reply to any later
	// command: after a round trip (CheckClean), every message the page
	// wrote before it has been seen.
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.problem("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.problem("uncaught exception: %s (%s:%d)", msg, d.URL, d.LineNumber+1)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				b.problem("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		case *fetch.EventRequestPaused:
			// Every request of the tab pauses here: loopback ones go on,
			// any other fails and is reported. Commands may not run in
			// this func, so the answer goes from a goroutine.
			go b.answer(ctx, ev)
		}
	}); err != nil {
		t.Fatalf("listen to chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}}); err != nil {
		t.Fatalf("intercept requests: %v", err)
	}
	return b
}

func (b *Browser) answer(ctx context.Context, ev *fetch.EventRequestPaused) {
	var err error
	if Loopback(ev.Request.URL) {
		_, err = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
	} else {
		b.problem("request to %s refused: not loopback", ev.Request.URL)
		_, err = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
	}
	if err != nil && ctx.Err() == nil {
		b.problem("request %s: %v", ev.Request.URL, err)
	}
}

// Loopback reports whether a URL may be loaded: data: URLs and http(s) to
// a loopback IP address (127.0.0.0/8, ::1). Host names are refused, even
// localhost: resolving them is what must not happen.
func Loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "data":
		return true
	case "http", "https":
		ip := net.ParseIP(u.Hostname())
		return ip != nil && ip.IsLoopback()
	}
	return false
}

func (b *Browser) problem(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

// Problems returns the console errors, uncaught exceptions and refused
// requests seen so far.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Do runs actions in the tab, each call bounded by actionTimeout.
func (b *Browser) Do(t testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("chromium: %v", err)
	}
}

// Run runs one action in the tab and returns its value, bounded by
// actionTimeout.
func Run[T any](t testing.TB, b *Browser, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return v
}

// Eval evaluates a JavaScript expression in the page and decodes its value.
func Eval[T any](t testing.TB, b *Browser, expr string) T {
	t.Helper()
	return Run(t, b, chromedp.Evaluate[T](expr))
}

// Open loads a loopback URL and waits for the page to have loaded.
func (b *Browser) Open(t testing.TB, u string) {
	t.Helper()
	if !Loopback(u) {
		t.Fatalf("browser: %s is not a loopback URL", u)
	}
	b.Do(t, chromedp.Navigate(u))
}

// CheckClean fails the test for every problem seen so far: after a round
// trip through the page, which every message the page wrote before it
// precedes.
func (b *Browser) CheckClean(t testing.TB) {
	t.Helper()
	Eval[chromedp.Void](t, b, "0")
	for _, p := range b.Problems() {
		t.Errorf("browser: %s", p)
	}
}

// Text is the rendered text of the first element a CSS selector matches.
func (b *Browser) Text(t testing.TB, css string) string {
	t.Helper()
	return strings.TrimSpace(Eval[string](t, b, "document.querySelector("+quote(css)+").innerText"))
}

// Overflowing lists the elements that reach past the right edge of the
// viewport (by more than a pixel): on a phone, none should.
func (b *Browser) Overflowing(t testing.TB) []string {
	t.Helper()
	return Eval[[]string](t, b, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : "") + ": " + e.textContent.slice(0, 40))`)
}

// Phone makes the tab a phone's: 360 CSS pixels wide, mobile, touch.
func Phone() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))
}

func quote(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
