package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// get fetches path from srv and returns the status, content type and body.
func get(t *testing.T, srv *httptest.Server, method, path string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

type fakeStatus struct {
	Host       string   `json:"host"`
	Containers []string `json:"containers"`
}

func TestHandlerEndpoints(t *testing.T) {
	reg := NewRegistry()
	m := New(reg, testBuild)
	drive(m)
	ok := func(context.Context) error { return nil }
	tests := []struct {
		name     string
		e        Endpoints
		method   string
		path     string
		code     int
		ctype    string // prefix
		body     string // substring
		wantJSON string // when set, the body is this JSON value
	}{
		{name: "healthz", path: "/healthz", code: 200, ctype: "text/plain", body: "ok"},
		{name: "healthz HEAD", method: http.MethodHead, path: "/healthz", code: 200, ctype: "text/plain"},
		{name: "healthz POST is not allowed", method: http.MethodPost, path: "/healthz", code: 405},
		{name: "healthy", e: Endpoints{Health: func() error { return nil }}, path: "/healthz", code: 200, ctype: "text/plain", body: "ok"},
		{name: "unhealthy says why", path: "/healthz", code: 503, ctype: "text/plain",
			e:    Endpoints{Health: func() error { return errors.New("the spec folder reader has been reading for 3m0s") }},
			body: "unhealthy: the spec folder reader has been reading for 3m0s"},
		{name: "ready", e: Endpoints{Ready: ok}, path: "/readyz", code: 200, ctype: "text/plain", body: "ok"},
		{name: "not ready says why", path: "/readyz", code: 503, ctype: "text/plain",
			e:    Endpoints{Ready: func(context.Context) error { return errors.New("first reconcile not done") }},
			body: "not ready: first reconcile not done"},
		{name: "a hanging readiness check times out as not ready", path: "/readyz", code: 503,
			e: Endpoints{ReadyTimeout: 10 * time.Millisecond, Ready: func(ctx context.Context) error {
				<-ctx.Done()
				return fmt.Errorf("driver: %w", ctx.Err())
			}},
			body: "not ready: driver: context deadline exceeded"},
		{name: "readiness not wired is not ready", path: "/readyz", code: 503, body: "not ready"},
		{name: "status as JSON", path: "/status", code: 200, ctype: "application/json",
			e: Endpoints{Status: func(context.Context) (any, error) {
				return fakeStatus{Host: "WEB-01", Containers: []string{"web", "api"}}, nil
			}},
			wantJSON: `{"host": "WEB-01", "containers": ["web", "api"]}`},
		{name: "status error is JSON 500", path: "/status", code: 500, ctype: "application/json",
			e: Endpoints{Status: func(context.Context) (any, error) {
				return nil, errors.New("engine not started")
			}},
			wantJSON: `{"error": "engine not started"}`},
		{name: "status that cannot be encoded is JSON 500", path: "/status", code: 500, ctype: "application/json",
			e: Endpoints{Status: func(context.Context) (any, error) {
				return map[string]any{"bad": make(chan int)}, nil
			}},
			wantJSON: `{"error": "encode status: json: unsupported type: chan int"}`},
		{name: "status not wired is JSON 500", path: "/status", code: 500, ctype: "application/json",
			body: "status is not wired up"},
		{name: "metrics", e: Endpoints{Gatherer: reg}, path: "/metrics", code: 200, ctype: "text/plain; version=0.0.4",
			body: `isoagent_build_info{goversion="go1.26.8",version="v1.2.3"} 1`},
		{name: "metrics include the Go collector", e: Endpoints{Gatherer: reg}, path: "/metrics", code: 200, body: "go_goroutines "},
		{name: "index", path: "/", code: 200, ctype: "text/plain", body: "/metrics"},
		{name: "unknown path", path: "/debug/pprof/", code: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(Handler(tt.e))
			defer srv.Close()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			code, ctype, body := get(t, srv, method, tt.path)
			if code != tt.code {
				t.Errorf("status %d, want %d; body %q", code, tt.code, body)
			}
			if !strings.HasPrefix(ctype, tt.ctype) {
				t.Errorf("Content-Type %q, want %q", ctype, tt.ctype)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("body %q does not contain %q", body, tt.body)
			}
			if tt.wantJSON != "" {
				var got, want any
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatalf("body is not JSON: %v\n%s", err, body)
				}
				if err := json.Unmarshal([]byte(tt.wantJSON), &want); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("body %s, want %s", body, tt.wantJSON)
				}
			}
		})
	}
}

func TestReadyzFollowsReady(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(Handler(Endpoints{Ready: func(context.Context) error {
		if !ready.Load() {
			return errors.New("driver not answering")
		}
		return nil
	}}))
	defer srv.Close()
	for _, step := range []struct {
		ready bool
		code  int
	}{{false, 503}, {true, 200}, {false, 503}, {true, 200}} {
		ready.Store(step.ready)
		if code, _, body := get(t, srv, http.MethodGet, "/readyz"); code != step.code {
			t.Errorf("ready=%v: status %d (%q), want %d", step.ready, code, body, step.code)
		}
	}
}

// failingCollector fails every scrape, as a collector whose source is
// gone would.
type failingCollector struct{ desc *prometheus.Desc }

func (c failingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c failingCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(c.desc, errors.New("source gone"))
}

func TestMetricsSurviveAFailingCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg, testBuild)
	reg.MustRegister(failingCollector{prometheus.NewDesc("broken", "A collector that fails.", nil, nil)})
	var logs bytes.Buffer
	srv := httptest.NewServer(Handler(Endpoints{Gatherer: reg, Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
	defer srv.Close()
	code, _, body := get(t, srv, http.MethodGet, "/metrics")
	if code != 200 || !strings.Contains(body, "isoagent_reconcile_total") {
		t.Errorf("status %d, want 200 with the working collectors' metrics; body:\n%s", code, body)
	}
	if !strings.Contains(logs.String(), "source gone") {
		t.Errorf("the collector's error was not logged; logs:\n%s", logs.String())
	}
}

func TestLiveMetricsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus); CI installs it")
	}
	reg := NewRegistry()
	drive(New(reg, testBuild))
	srv := httptest.NewServer(Handler(Endpoints{Gatherer: reg}))
	defer srv.Close()
	_, _, body := get(t, srv, http.MethodGet, "/metrics")
	cmd := exec.CommandContext(t.Context(), promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestServerServesUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer("unused", Handler(Endpoints{}), nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	url := "http://" + ln.Addr().String() + "/healthz"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context was cancelled")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("still serving after Serve returned")
	}
}

func TestServerRunReportsListenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct{ name, addr string }{
		{"address in use", busy.Addr().String()},
		{"malformed address", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewServer(tt.addr, Handler(Endpoints{}), nil).Run(t.Context())
			if err == nil || !strings.HasPrefix(err.Error(), "listen: ") {
				t.Errorf("Run(%q) = %v, want a listen error", tt.addr, err)
			}
		})
	}
}

func TestServerShutdownWaitsForRequestsInFlight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	slow := func(context.Context) (any, error) {
		close(entered)
		<-release
		return "done", nil
	}
	s := NewServer("unused", Handler(Endpoints{Status: slow}), nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/status")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-entered
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	default:
	}
	close(release)
	select {
	case r := <-got:
		if r.err != nil || strings.TrimSpace(r.body) != `"done"` {
			t.Errorf("in-flight request: body %q, err %v", r.body, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request never finished")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}
