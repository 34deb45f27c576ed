//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
)

// TestPrometheusScrapesThroughTLSWithBasicAuth runs the agent with a
// --web.config.file that serves TLS and asks for basic auth, and has a real
// Prometheus scrape it the usual way (scheme https, tls_config, basic_auth):
// that job is up, and the same job without the credentials is not.
func TestPrometheusScrapesThroughTLSWithBasicAuth(t *testing.T) {
	bin, err := testutil.BuildAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	specs := t.TempDir()
	testutil.WriteSpec(t, specs, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022")
	wc := testutil.WriteWebConfig(t, map[string]string{"prometheus": "scrape-secret"})
	addr := testutil.FreeAddr(t)
	args := []string{"run",
		"--dir", specs,
		"--listen", addr,
		"--web.config.file", wc.File,
		"--sim-dir", t.TempDir(),
	}
	stopMonitorsOf(t, bin, args)
	agent := testutil.StartAgent(t, bin, args...)
	pw := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pw, []byte("scrape-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(t, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: isoagent
    scheme: https
    tls_config:
      ca_file: %[1]q
    basic_auth:
      username: prometheus
      password_file: %[2]q
    static_configs:
      - targets: [%[3]q]
  - job_name: no-credentials
    scheme: https
    tls_config:
      ca_file: %[1]q
    static_configs:
      - targets: [%[3]q]
`, wc.CAFile, pw, addr))

	poll(t, startTimeout, "Prometheus to scrape the agent through TLS", func() (bool, error) {
		if agent.Exited() {
			t.Fatalf("agent exited: %v\n%s", agent.Err(), agent.Output(4096))
		}
		v, err := prom.query(t.Context(), `isoagent_build_info{job="isoagent"}`)
		return len(v) > 0, fmt.Errorf("isoagent_build_info: %v, %v", v, err)
	})
	poll(t, startTimeout, "the scrape without credentials to be refused", func() (bool, error) {
		v, err := prom.query(t.Context(), `up{job="no-credentials"} == 0`)
		return len(v) > 0, fmt.Errorf("up{job=no-credentials} == 0: %v, %v", v, err)
	})
	if v, err := prom.query(t.Context(), `isoagent_build_info{job="no-credentials"}`); err != nil || len(v) != 0 {
		t.Errorf("the job without credentials got metrics: %v %v", v, err)
	}
}
