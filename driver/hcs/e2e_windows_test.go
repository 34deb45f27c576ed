//go:build windows

package hcs

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
			h.addImage(t, m[1], v)
		}
	}
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
}
