//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
)

// mismatchSpec asks for a Windows Server 2019 image with process isolation
// and no fallback: on the sim's default Windows Server 2022 host (build
// 20348) admission must refuse it with reason version-mismatch.
const mismatchSpec = `apiVersion: isoagent/v1
kind: Container
metadata:
  name: e2e-version-mismatch
spec:
  image: mcr.microsoft.com/windows/servercore:ltsc2019
  isolation: process
  onVersionMismatch: fail
`

// rejectionAlert is the alert that must fire for a spec the agent refuses.
const rejectionAlert = "IsoagentAdmissionRejections"

// coreMetrics are series every running agent exports from its first
// scrape; a dashboard or rule expression over them must return data.
var coreMetrics = []string{"isoagent_build_info", "isoagent_containers_desired"}

// TestAgentUnderPrometheus runs the agent on a copy of the example specs
// against the simulated host, has a real Prometheus scrape it every second
// with the example alert rules loaded, and checks what an operator relies
// on: the exposition is clean, every dashboard and alert expression works
// on live data, and breaking a spec fires the rejection alert.
func TestAgentUnderPrometheus(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// Not checked here: an agent without --policy says so (and the test
	// skips), one with it reports a missing file (and the test fails).
	policy := filepath.Join(root, "examples", "policy.yaml")
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	usageRules, err := filepath.Abs(usageRulesFile)
	if err != nil {
		t.Fatal(err)
	}

	bin, err := testutil.BuildAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	specs := filepath.Join(t.TempDir(), "specs")
	copyDir(t, filepath.Join(root, "examples", "specs"), specs)
	// Operators keep the folder in git; the agent reports the revision it
	// works from.
	revision := gitCommitAll(t, specs)
	addr := testutil.FreeAddr(t)
	agent := startAgent(t, addr, bin, "run",
		"--dir", specs,
		"--policy", policy,
		"--listen", addr,
		"--sim-dir", t.TempDir(),
		"--resync", "1s",
		"--stats-interval", "1s",
	)

	prom := startPrometheus(t, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
  - %q
scrape_configs:
  - job_name: isoagent
    static_configs:
      - targets: [%q]
`, rules, usageRules, addr))
	instance := fmt.Sprintf(`{job="isoagent", instance=%q}`, addr)
	poll(t, startTimeout, "Prometheus to scrape the agent", func() (bool, error) {
		if agent.Exited() {
			t.Fatalf("agent exited: %v", agent.Err())
		}
		v, err := prom.query(t.Context(), "up"+instance+" == 1")
		return len(v) > 0, err
	})

	t.Run("every running container has usage series by spec name", func(t *testing.T) {
		// The agent reads the sim's statistics once per --stats-interval;
		// each container the host runs has its CPU time growing, joined to
		// its info series by name and container ID.
		expr := `count((rate(isoagent_container_cpu_seconds_total{mode="user"}[10s]) > 0) * on (instance, name, container_id) group_left () isoagent_container_info{state="running"})` +
			` == count(isoagent_container_info{state="running"})`
		poll(t, startTimeout, "usage series of every running container", func() (bool, error) {
			v, err := prom.query(t.Context(), expr)
			return len(v) > 0, err
		})
	})

	t.Run("live metrics pass promtool check metrics", func(t *testing.T) {
		promtool(t, "", scrapeMetrics(t, addr), "check", "metrics")
	})

	t.Run("every dashboard and rule expression evaluates on live data", func(t *testing.T) {
		// rate() and increase() need two samples in their window; wait for
		// a few scrapes so that an empty answer means what it says.
		poll(t, startTimeout, "three scrapes of the agent", func() (bool, error) {
			v, err := prom.query(t.Context(), "count_over_time(up"+instance+"[1m]) >= 3")
			return len(v) > 0, err
		})
		vars := grafanaVars(addr)
		for _, e := range exampleExpressions(t) {
			t.Run(e.Source, func(t *testing.T) {
				expr, err := substitute(e.Expr, vars)
				if err != nil {
					t.Fatal(err)
				}
				v, err := prom.query(t.Context(), expr)
				if err != nil {
					t.Fatalf("Prometheus rejects %q: %v", expr, err)
				}
				// Alert expressions are conditions and rightly empty on a
				// healthy agent; dashboard queries of core metrics are not.
				for _, m := range coreMetrics {
					if strings.HasPrefix(e.Source, "dashboard") && strings.Contains(expr, m) && len(v) == 0 {
						t.Errorf("%q returns no data; %s is exported from the first scrape", expr, m)
					}
				}
				if len(v) == 0 {
					t.Logf("no data yet (fine for an idle agent): %s", expr)
				}
				if e.Source == "dashboard variable instance" &&
					!slices.ContainsFunc(v, func(s sample) bool { return s.Metric["instance"] == addr }) {
					t.Errorf("instance variable query %q does not list %s: %v", expr, addr, v)
				}
			})
		}
	})

	t.Run("the spec folder's git revision is exported", func(t *testing.T) {
		q := fmt.Sprintf(`isoagent_config_revision_info{instance=%q, revision=%q}`, addr, revision)
		v, err := prom.query(t.Context(), q)
		if err != nil || len(v) == 0 {
			all, _ := prom.query(t.Context(), "isoagent_config_revision_info")
			t.Errorf("%s: no data (%v); isoagent_config_revision_info is %v", q, err, all)
		}
	})

	t.Run("a version-mismatched spec fires the rejection alert", func(t *testing.T) {
		host, err := prom.query(t.Context(), `isoagent_host_info{build="20348"}`)
		if err != nil || len(host) == 0 {
			t.Fatalf("the scenario needs the sim's default build 20348 host; isoagent_host_info: %v %v", host, err)
		}
		expr := ruleExpr(t, rejectionAlert)
		before, err := prom.query(t.Context(), expr)
		if err != nil {
			t.Fatal(err)
		}
		if len(before) != 0 {
			t.Fatalf("%s is true before the broken spec is added (every example spec must be admitted on the sim host): %v", rejectionAlert, before)
		}

		writeFileAtomic(t, filepath.Join(specs, "e2e-version-mismatch.yaml"), mismatchSpec)
		poll(t, 60*time.Second, rejectionAlert+"'s expression to return data", func() (bool, error) {
			if agent.Exited() {
				t.Fatalf("agent exited: %v", agent.Err())
			}
			v, err := prom.query(t.Context(), expr)
			if err != nil {
				return false, err
			}
			return slices.ContainsFunc(v, func(s sample) bool { return s.Metric["instance"] == addr }),
				fmt.Errorf("%s returns %v", expr, v)
		})
		poll(t, 30*time.Second, rejectionAlert+" to fire", func() (bool, error) {
			alerts, err := prom.alerts(t.Context())
			return slices.ContainsFunc(alerts, func(a alert) bool {
				return a.Labels["alertname"] == rejectionAlert && a.Labels["instance"] == addr && a.State == "firing"
			}), fmt.Errorf("alerts %v, %v", alerts, err)
		})
		// What the dashboard shows for it: the reason and the table row.
		for _, q := range []string{
			`isoagent_admission_rejections_total{reason="version-mismatch"} > 0`,
			`isoagent_container_info{name="e2e-version-mismatch", state="rejected"}`,
		} {
			v, err := prom.query(t.Context(), q)
			if err != nil || len(v) == 0 {
				t.Errorf("%s: %v %v", q, v, err)
			}
		}
	})

	t.Run("dashboard and rules query only metrics the agent exports", func(t *testing.T) {
		exported := exportedNames(scrapeMetrics(t, addr))
		name := regexp.MustCompile(`\bisoagent_[a-z0-9_]+`)
		for _, e := range exampleExpressions(t) {
			for _, n := range name.FindAllString(e.Expr, -1) {
				if !exported[n] {
					t.Errorf("%s queries %s, which the agent does not export", e.Source, n)
				}
			}
		}
	})
}

// gitCommitAll makes dir a git checkout with its content committed and
// returns the commit's hash.
func gitCommitAll(t *testing.T, dir string) string {
	t.Helper()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{
			"-c", "user.name=isoagent e2e", "-c", "user.email=e2e@isoagent.invalid",
			"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false",
		}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "--allow-empty", "-m", "example specs")
	return git("rev-parse", "HEAD")
}

// startAgent runs the agent and waits until /readyz says it has done its
// first full reconcile. The test is skipped only when the agent says one of
// the flags it was given does not exist yet; any other failure fails it.
func startAgent(t *testing.T, addr, bin string, args ...string) *testutil.Process {
	t.Helper()
	stopMonitorsOf(t, bin, args)
	p := testutil.StartAgent(t, bin, args...)
	poll(t, startTimeout, "the agent to be ready", func() (bool, error) {
		if p.Exited() {
			out := p.Output(4096)
			if line := unknownFlag(out); line != "" {
				t.Skipf("isoagent %s does not support a flag this test needs yet: %s", args[0], line)
			}
			t.Fatalf("agent exited before it was ready: %v\n%s", p.Err(), out)
		}
		code, body, err := httpGet(t.Context(), "http://"+addr+"/readyz")
		if err != nil {
			return false, err
		}
		return code == http.StatusOK, fmt.Errorf("/readyz: HTTP %d %s", code, truncate(body, 200))
	})
	return p
}

// unknownFlag returns the line in which the flag package reports an
// undefined flag, or "".
func unknownFlag(out string) string {
	for line := range strings.Lines(out) {
		if strings.Contains(line, "flag provided but not defined") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// scrapeMetrics fetches the agent's /metrics in the text format.
func scrapeMetrics(t *testing.T, addr string) []byte {
	t.Helper()
	code, body, err := httpGet(t.Context(), "http://"+addr+"/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /metrics: HTTP %d, %v", code, err)
	}
	return body
}

// exportedNames returns the sample names of a text exposition: each
// family's name and, for histograms and summaries, its _bucket, _sum and
// _count series.
func exportedNames(exposition []byte) map[string]bool {
	names := make(map[string]bool)
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		names[f[2]] = true
		if f[3] == "histogram" || f[3] == "summary" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f[2]+s] = true
			}
		}
	}
	return names
}

// copyDir copies the regular files and folders under src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// writeFileAtomic writes a file the way git-sync and careful editors do: to
// a dot file the agent ignores, then renamed into place, so the watcher
// never reads half of it.
func writeFileAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// ruleExpr returns the expression of the named alert in the shipped rules.
func ruleExpr(t *testing.T, alert string) string {
	t.Helper()
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	exprs, err := ruleExpressions(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range exprs {
		if e.Source == "rule "+alert {
			return e.Expr
		}
	}
	t.Fatalf("%s has no alert %s", rulesFile, alert)
	return ""
}
