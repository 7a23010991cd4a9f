// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// Prometheus is the harness's Prometheus server (1 s scrape and rule evaluation intervals).
type Prometheus struct {
	URL   string
	SDDir string
}

// Prometheus returns a client for the harness Prometheus.
func (e *Env) Prometheus() *Prometheus { return &Prometheus{URL: e.PromURL, SDDir: e.PromSDDir} }

// Query runs an instant query and returns the resulting vector.
func (p *Prometheus) Query(ctx context.Context, expr string) ([]Sample, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s, want vector", expr, data.ResultType)
	}
	out := make([]Sample, 0, len(data.Result))
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %w", expr, r.Value[1], err)
		}
		out = append(out, Sample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// WaitQuery repeats an instant query until cond accepts the result or timeout passes.
func (p *Prometheus) WaitQuery(t testing.TB, expr string, timeout time.Duration, cond func([]Sample) error) []Sample {
	t.Helper()
	var res []Sample
	err := Eventually(timeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		if res, err = p.Query(ctx, expr); err != nil {
			return err
		}
		return cond(res)
	})
	if err != nil {
		t.Fatalf("Prometheus query %q never satisfied the condition within %v: %v", expr, timeout, err)
	}
	return res
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// RegisterTarget makes the harness Prometheus scrape addr as job ("mailwatchd" or "extra"),
// through a file_sd file that is removed when the test ends. Prometheus notices the file within
// seconds; wait for it with WaitQuery on up{job=..., instance=addr}.
func (p *Prometheus) RegisterTarget(t testing.TB, job, addr string, labels map[string]string) {
	t.Helper()
	if job != "mailwatchd" && job != "extra" {
		t.Fatalf("RegisterTarget: job %q has no file_sd in the harness config (mailwatchd, extra)", job)
	}
	if labels == nil {
		labels = map[string]string{}
	}
	body, err := json.Marshal([]map[string]any{{"targets": []string{addr}, "labels": labels}})
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s-%s-%s.json", job, unsafeChars.ReplaceAllString(t.Name(), "_"), unsafeChars.ReplaceAllString(addr, "_"))
	final := filepath.Join(p.SDDir, name)
	// Written under a name the file_sd glob ignores, then renamed: Prometheus never reads half a file.
	tmp := filepath.Join(p.SDDir, ".tmp-"+name)
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		t.Fatalf("register scrape target: %v (is the harness running?)", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(final) })
}

// Reload makes Prometheus re-read its configuration and rule files (e.g. after a test put a
// rule file into Env.PromRulesDir).
func (p *Prometheus) Reload(ctx context.Context) error {
	resp, err := send(ctx, http.MethodPost, p.URL+"/-/reload")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST /-/reload: %s: %s", resp.Status, b)
	}
	return nil
}

func (p *Prometheus) get(ctx context.Context, path string, data any) error {
	resp, err := send(ctx, http.MethodGet, p.URL+path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var envelope struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&envelope); err != nil {
		return fmt.Errorf("GET %s: %s: %w", path, resp.Status, err)
	}
	if envelope.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, envelope.Error)
	}
	return json.Unmarshal(envelope.Data, data)
}

// send sends a request without a body under ctx with the default client; the caller closes
// the response's body.
func send(ctx context.Context, method, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

// Notification is one Alertmanager webhook notification received by the harness receiver.
type Notification struct {
	Status string `json:"status"`
	Alerts []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"alerts"`
}

// Notifications returns every notification the harness webhook receiver got since the stack
// started, oldest first.
func (e *Env) Notifications(ctx context.Context) ([]Notification, error) {
	resp, err := send(ctx, http.MethodGet, e.HookURL+"/alerts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []Notification
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("GET %s/alerts: %w", e.HookURL, err)
	}
	return out, nil
}
