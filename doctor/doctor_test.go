package doctor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
)

const goodSpec = `apiVersion: isoagent/v1
kind: Container
metadata: {name: web}
spec:
  image: mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022
`

const goodPolicy = "apiVersion: isoagent/v1\nkind: Policy\nports: ['8080/tcp']\n"

// agentHost is the folders of an agent on the simulated host, as a test
// lays them out: a spec folder with one spec, a policy file, and a
// simulated host (made as the agent makes it).
type agentHost struct {
	specs, policy, sim string
}

func newAgentHost(t *testing.T) agentHost {
	t.Helper()
	root := t.TempDir()
	h := agentHost{specs: filepath.Join(root, "specs"), policy: filepath.Join(root, "etc", "policy.yaml"), sim: filepath.Join(root, "sim")}
	write(t, filepath.Join(h.specs, "web.yaml"), goodSpec)
	write(t, h.policy, goodPolicy)
	if _, err := sim.Open(h.sim, sim.Options{}); err != nil {
		t.Fatal(err)
	}
	return h
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func (h agentHost) args(extra ...string) []string {
	return append([]string{"--driver", "sim", "--sim-dir", h.sim, "--dir", h.specs, "--policy", h.policy, "--json"}, extra...)
}

// TestDoctorOnTheSimulatedHost runs isoagent doctor against the sim with
// real folders: each way the host can fall short fails (or warns about)
// its own check, with the fix, and the exit status says whether any
// check failed.
func TestDoctorOnTheSimulatedHost(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("folder permissions are Windows ACLs there; TestDoctorOnTheFakeHCS checks them")
	}
	tests := []struct {
		name   string
		edit   func(t *testing.T, h *agentHost) []string // returns extra flags
		code   int
		status map[string]driver.CheckStatus // checks that must come out so; the others pass
		fix    map[string]string
	}{
		{name: "ready", code: exitOK},
		{name: "a spec folder everyone may write", code: exitProblem,
			edit:   func(t *testing.T, h *agentHost) []string { chmod(t, h.specs, 0o777); return nil },
			status: map[string]driver.CheckStatus{"spec folder": driver.CheckFail}, fix: map[string]string{"spec folder": "chmod go-w"}},
		{name: "a policy file its group may write", code: exitProblem,
			edit:   func(t *testing.T, h *agentHost) []string { chmod(t, h.policy, 0o664); return nil },
			status: map[string]driver.CheckStatus{"policy file": driver.CheckFail}, fix: map[string]string{"policy file": "chmod go-w"}},
		{name: "a policy that does not parse", code: exitProblem,
			edit:   func(t *testing.T, h *agentHost) []string { write(t, h.policy, goodPolicy+"mount: []\n"); return nil },
			status: map[string]driver.CheckStatus{"policy file": driver.CheckFail}, fix: map[string]string{"policy file": "isoagent validate --policy"}},
		{name: "no policy", code: exitOK,
			edit:   func(t *testing.T, h *agentHost) []string { h.policy = ""; return nil },
			status: map[string]driver.CheckStatus{"policy file": driver.CheckWarn}},
		{name: "an invalid spec file", code: exitOK,
			edit: func(t *testing.T, h *agentHost) []string {
				write(t, filepath.Join(h.specs, "bad.yaml"), "kind: Pod\n")
				return nil
			},
			status: map[string]driver.CheckStatus{"specs": driver.CheckWarn}, fix: map[string]string{"specs": "isoagent validate"}},
		{name: "no spec folder", code: exitProblem,
			edit:   func(t *testing.T, h *agentHost) []string { h.specs += "-gone"; return nil },
			status: map[string]driver.CheckStatus{"spec folder": driver.CheckFail}, fix: map[string]string{"spec folder": "mkdir -p -m 0755"}},
		{name: "a server without Hyper-V", code: exitOK,
			edit:   func(t *testing.T, h *agentHost) []string { simHost(t, h.sim, driver.SKUServer); return nil },
			status: map[string]driver.CheckStatus{"Hyper-V": driver.CheckWarn}, fix: map[string]string{"Hyper-V": "--hyperv on"}},
		{name: "a client without Hyper-V, its default isolation", code: exitProblem,
			edit:   func(t *testing.T, h *agentHost) []string { simHost(t, h.sim, driver.SKUClient); return nil },
			status: map[string]driver.CheckStatus{"Hyper-V": driver.CheckFail}},
		{name: "a credential-spec folder everyone may write", code: exitProblem,
			edit: func(t *testing.T, h *agentHost) []string {
				dir := filepath.Join(h.sim, "CredentialSpecs")
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				chmod(t, dir, 0o777)
				return nil
			},
			status: map[string]driver.CheckStatus{"credential-spec folder": driver.CheckFail}},
		{name: "no simulated host yet", code: exitOK,
			edit:   func(t *testing.T, h *agentHost) []string { h.sim += "-new"; return nil },
			status: map[string]driver.CheckStatus{"simulated host": driver.CheckWarn, "state folder": driver.CheckWarn}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newAgentHost(t)
			var extra []string
			if tt.edit != nil {
				extra = tt.edit(t, &h)
			}
			var stdout, stderr bytes.Buffer
			code := Main(h.args(extra...), &stdout, &stderr)
			var checks []driver.Check
			if err := json.Unmarshal(stdout.Bytes(), &checks); err != nil {
				t.Fatalf("output is not JSON checks: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d: %+v", code, tt.code, checks)
			}
			got := map[string]driver.Check{}
			for _, c := range checks {
				got[c.Name] = c
				want, ok := tt.status[c.Name]
				if !ok {
					want = driver.CheckPass
				}
				if c.Status != want {
					t.Errorf("%s: %s (%s), want %s", c.Name, c.Status, c.Detail, want)
				}
				if c.Status != driver.CheckPass && (c.Fix == "" || !strings.Contains(c.Fix, tt.fix[c.Name])) {
					t.Errorf("%s: fix %q, want one saying %q", c.Name, c.Fix, tt.fix[c.Name])
				}
			}
			for name := range tt.status {
				if _, ok := got[name]; !ok {
					t.Errorf("no %q check in %+v", name, checks)
				}
			}
		})
	}
}

// simHost makes the simulated host in dir one of sku without Hyper-V.
func simHost(t *testing.T, dir string, sku driver.SKU) {
	t.Helper()
	d, err := sim.Open(dir, sim.Options{Host: driver.Host{SKU: sku}, OverrideHost: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Model().SetHyperV(driver.Unavailable, "the Hyper-V role is not installed"); err != nil {
		t.Fatal(err)
	}
}

func TestDoctorTextAndMistakes(t *testing.T) {
	h := newAgentHost(t)
	var stdout, stderr bytes.Buffer
	code := Main([]string{"--driver", "sim", "--sim-dir", h.sim, "--dir", h.specs}, &stdout, &stderr)
	out := stdout.String()
	for _, want := range []string{"PASS  simulated host", "WARN  policy file", "fix: write one", "no check failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != exitOK {
		t.Errorf("exit %d, want 0 (a warning is no failure)", code)
	}
	for _, args := range [][]string{{"--driver", "podman"}, {"extra"}, {"--no-such-flag"}} {
		stdout.Reset()
		stderr.Reset()
		if code := Main(args, &stdout, &stderr); code != exitUsage {
			t.Errorf("doctor %q: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
	if runtime.GOOS != "windows" {
		if code := Main([]string{"--driver", "hcs"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "Windows-only") {
			t.Errorf("doctor --driver hcs on %s: exit %d, %q; want 2 and why", runtime.GOOS, code, stderr.String())
		}
	}
}
