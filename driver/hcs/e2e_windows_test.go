//go:build windows

package hcs

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/winbuild"
)

// TestAgentConvergesOnExamples runs the whole agent (isoagent run --once,
// built for Windows by scripts/hcs-test and named by ISOAGENT_E2E_BINARY)
// with --driver hcs over examples/specs against the fake HCS, and wants it
// to converge.
func TestAgentConvergesOnExamples(t *testing.T) {
	bin := os.Getenv("ISOAGENT_E2E_BINARY")
	if bin == "" {
		t.Skip("ISOAGENT_E2E_BINARY is not set (scripts/hcs-test sets it)")
	}
	h := newFakeHost(t)
	// The agent gives each run a monitor, which outlives it.
	h.stopMonitorsAtEnd(t)
	specs, err := filepath.Abs(filepath.Join("..", "..", "examples", "specs"))
	if err != nil {
		t.Fatal(err)
	}
	// Every image the examples name is in the store, built for the build
	// its tag names.
	files, err := filepath.Glob(filepath.Join(specs, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example specs in %s: %v", specs, err)
	}
	imageLine := regexp.MustCompile(`(?m)^\s*image:\s*(\S+)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range imageLine.FindAllStringSubmatch(string(b), -1) {
			v := driver.OSVersion{Major: 10, Build: winbuild.LTSC2022}
			if strings.Contains(m[1], "ltsc2019") {
				v.Build = winbuild.LTSC2019
			}
			// The programs the examples run, where their images keep
			// them.
			h.putImage(t, testImage{
				Ref: m[1], OSVersion: v.String(), UtilityVM: true,
				Cmd: []string{`C:\ServiceMonitor.exe`, "w3svc"},
				Env: []string{`PATH=C:\Windows\system32;C:\Windows;C:\Program Files\PowerShell;C:\Program Files\dotnet`},
				Files: []string{
					`C:\ServiceMonitor.exe`, `C:\Program Files\PowerShell\pwsh.exe`, `C:\Program Files\dotnet\dotnet.exe`,
				},
			})
		}
	}
	runOnce := func() string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, "run", "--once", "--timeout", "60s",
			"--dir", specs, "--policy", filepath.Join(specs, "..", "policy.yaml"), "--driver", "hcs", "--listen", "127.0.0.1:0", "--log-format", "json",
			"--hcs-state-dir", h.agent, "--docker-root", h.docker)
		cmd.WaitDelay = 10 * time.Second
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("isoagent run --once: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), ": converged") {
			t.Errorf("isoagent did not report convergence:\n%s", out)
		}
		return string(out)
	}
	out := runOnce()
	cs, err := h.model.Containers(testOwner)
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, c := range cs {
		if c.State == driver.StateRunning {
			running++
		}
	}
	if running == 0 {
		t.Errorf("the fake host runs none of the examples' containers: %+v", cs)
	}
	t.Logf("%d containers running on the fake host\n%s", running, out)

	// dockerd starts while no agent runs and deletes the endpoints on nat:
	// the next agent finds the containers without their network and
	// replaces them, and every nat container has an endpoint again.
	endpoints := h.endpoints(t)
	if len(endpoints) == 0 {
		t.Fatal("no container of the examples has an endpoint")
	}
	h.drill(t, "dockerd-start")
	out = runOnce()
	if got := h.endpoints(t); !slices.Equal(got, endpoints) {
		t.Errorf("endpoints after dockerd deleted them and the agent ran again: %v, want %v\n%s", got, endpoints, out)
	}
	if !strings.Contains(out, "no longer has the container's network endpoints") {
		t.Errorf("the agent did not say why it replaced the containers:\n%s", out)
	}
}
