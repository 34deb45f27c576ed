//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
)

// Bounds on waiting. They are deadlines, not expectations: the tests poll
// and go on as soon as the condition holds. (A process the tests start
// gets testutil.StopTimeout to exit after SIGINT before it is killed.)
const (
	startTimeout = 60 * time.Second // a process is up and answering
	pollInterval = 200 * time.Millisecond
)

// tool finds an external program the tests need: the environment variable
// env when set, else name on PATH, else /usr/bin/name. These tests are run
// on purpose (-tags e2e), so a missing tool fails them rather than skipping.
func tool(t *testing.T, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/" + name); err == nil {
		return "/usr/bin/" + name
	}
	t.Fatalf("%s not found (set %s, or install the Debian package prometheus)", name, env)
	return ""
}

// poll calls cond until it reports true and fails the test with cond's last
// error when timeout passes first. cond runs on the test goroutine and may
// call t.Fatal itself for conditions that waiting cannot fix.
func poll(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %v", timeout, what, err)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatalf("test cancelled waiting for %s", what)
		}
	}
}

// httpGet fetches url and returns the status code and body.
func httpGet(ctx context.Context, u string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, body, err
}

// promServer is a Prometheus server run by a test on loopback.
type promServer struct {
	url  string
	proc *testutil.Process
}

// startPrometheus runs Prometheus with config (a prometheus.yml body) on a
// free loopback port, storage in a temporary folder, and waits until it is
// ready.
func startPrometheus(t *testing.T, config string) *promServer {
	t.Helper()
	bin := tool(t, "PROMETHEUS", "prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := testutil.FreeAddr(t)
	cmd := exec.Command(bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	s := &promServer{url: "http://" + addr, proc: testutil.Start(t, "prometheus", cmd)}
	poll(t, startTimeout, "Prometheus to be ready", func() (bool, error) {
		if s.proc.Exited() {
			t.Fatalf("prometheus exited before it was ready: %v\n%s", s.proc.Err(), s.proc.Output(4096))
		}
		code, _, err := httpGet(t.Context(), s.url+"/-/ready")
		if err != nil {
			return false, err
		}
		return code == http.StatusOK, fmt.Errorf("/-/ready: HTTP %d", code)
	})
	return s
}

// queryResult is the data of a successful /api/v1/query answer.
type queryResult struct {
	Type   string          `json:"resultType"`
	Result json.RawMessage `json:"result"`
}

// sample is one element of an instant vector.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// vector returns the samples of a vector result; scalars and strings count
// as one sample without labels.
func (r queryResult) vector() ([]sample, error) {
	switch r.Type {
	case "vector":
		var v []sample
		err := json.Unmarshal(r.Result, &v)
		return v, err
	case "scalar", "string":
		var v [2]any
		if err := json.Unmarshal(r.Result, &v); err != nil {
			return nil, err
		}
		return []sample{{Value: v}}, nil
	default:
		return nil, fmt.Errorf("result type %q", r.Type)
	}
}

// query evaluates expr at the current time. Any error Prometheus reports
// (a parse error, a type error, an execution error) is returned.
func (s *promServer) query(ctx context.Context, expr string) ([]sample, error) {
	code, body, err := httpGet(ctx, s.url+"/api/v1/query?"+url.Values{"query": {expr}}.Encode())
	if err != nil {
		return nil, err
	}
	var resp struct {
		Status    string      `json:"status"`
		Data      queryResult `json:"data"`
		ErrorType string      `json:"errorType"`
		Error     string      `json:"error"`
		Warnings  []string    `json:"warnings"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("HTTP %d, undecodable answer %q: %w", code, truncate(body, 200), err)
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("%s: %s", resp.ErrorType, resp.Error)
	}
	if len(resp.Warnings) > 0 {
		return nil, fmt.Errorf("warnings: %s", strings.Join(resp.Warnings, "; "))
	}
	return resp.Data.vector()
}

// alert is one entry of /api/v1/alerts.
type alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

// alerts returns the pending and firing alerts.
func (s *promServer) alerts(ctx context.Context) ([]alert, error) {
	code, body, err := httpGet(ctx, s.url+"/api/v1/alerts")
	if err != nil {
		return nil, err
	}
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			Alerts []alert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Status != "success" {
		return nil, fmt.Errorf("/api/v1/alerts: HTTP %d %q: %v", code, truncate(body, 200), err)
	}
	return resp.Data.Alerts, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// promtool runs promtool with args, stdin as its input, in dir, and fails
// the test with its output when it does not succeed.
func promtool(t *testing.T, dir string, stdin []byte, args ...string) {
	t.Helper()
	cmd := exec.Command(tool(t, "PROMTOOL", "promtool"), args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
