// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
)

// Scrapes over the in-flight limit wait for a slot instead of getting 503.
func TestScrapesWaitForASlot(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}, 2*maxScrapesInFlight), make(chan struct{})
	reg := prometheus.NewRegistry()
	gather := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		entered <- struct{}{}
		<-release
		return reg.Gather()
	})
	h := NewHandler(Options{Gatherer: gather, Logger: zap.NewNop()})
	codes := make(chan int, maxScrapesInFlight+1)
	scrape := func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		codes <- rec.Code
	}
	for range maxScrapesInFlight {
		go scrape()
	}
	for range maxScrapesInFlight {
		<-entered
	}
	go scrape()
	select {
	case code := <-codes:
		close(release)
		t.Fatalf("a scrape over the limit of %d was answered %d at once", maxScrapesInFlight, code)
	case <-time.After(100 * time.Millisecond): // it waits, as it should
	}
	select {
	case <-entered:
		t.Errorf("more than %d scrapes gathered at once", maxScrapesInFlight)
	default:
	}
	close(release)
	for range maxScrapesInFlight + 1 {
		if code := <-codes; code != 200 {
			t.Errorf("scrape: %d", code)
		}
	}
}

func TestQueueScrapesGivesUp(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	h := queueScrapes(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}), 1, 10*time.Millisecond)
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/metrics", nil))
	<-entered
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("scrape that found no slot in time: %d, want 503", rec.Code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil).WithContext(ctx))
	if rec.Body.Len() != 0 {
		t.Errorf("a scrape whose client left was answered: %q", rec.Body)
	}
	close(release)
}
