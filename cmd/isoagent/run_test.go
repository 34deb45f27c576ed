package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/reconcile"
)

// builtAgent is the isoagent binary, built once per test binary.
var builtAgent = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "isoagent-bin-")
	if err != nil {
		return "", err
	}
	return testutil.BuildAgent(dir)
})

// agentBinary builds isoagent once per test binary, so tests can run it as
// separate processes, as an operator would.
func agentBinary(t *testing.T) string {
	t.Helper()
	bin, err := builtAgent()
	if err != nil {
		t.Fatalf("build isoagent: %v", err)
	}
	return bin
}

// runAgentBinary runs the isoagent binary and returns its stdout, stderr and exit
// code.
func runAgentBinary(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	stopMonitorsOf(t, args)
	cmd := exec.Command(agentBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("isoagent %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// actionLines returns the "action done" log records of a JSON log.
func actionLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if _, ok := rec["action"]; ok {
			out = append(out, rec)
		}
	}
	return out
}

// Two agent processes in turn over the same simulated host: the second run
// adopts what the first created and changes nothing.
func TestRunOnceTwiceAdopts(t *testing.T) {
	dir, simDir := t.TempDir(), t.TempDir()
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022")
	testutil.WriteSpec(t, dir, "db.yaml", "db", "mcr.microsoft.com/windows/servercore:ltsc2019", "isolation: hyperv")
	args := []string{"run", "--dir", dir, "--sim-dir", simDir, "--once", "--timeout", "30s", "--log-format", "json"}

	stdout, stderr, code := runAgentBinary(t, args...)
	if code != 0 {
		t.Fatalf("first run exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, `"driver":"sim"`) || !strings.Contains(stderr, `"os_version":"10.0.20348"`) {
		t.Errorf("first log line does not announce the sim and its version:\n%s", stderr)
	}
	if acts := actionLines(t, stderr); len(acts) != 2 {
		t.Errorf("first run: %d actions, want 2 creates: %v", len(acts), acts)
	}
	for _, want := range []string{"converged", "web", "running", "process", "db", "hyperv", "vmwp"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status table lacks %q:\n%s", want, stdout)
		}
	}

	stdout, stderr, code = runAgentBinary(t, args...)
	if code != 0 {
		t.Fatalf("second run exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if acts := actionLines(t, stderr); len(acts) != 0 {
		t.Errorf("second run acted: %v", acts)
	}
}

func TestPlanExitCodes(t *testing.T) {
	dir, simDir := t.TempDir(), t.TempDir()
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore:ltsc2022")
	testutil.WriteSpec(t, dir, "old.yaml", "old", "mcr.microsoft.com/windows/servercore:ltsc2019")
	sim := []string{"--dir", dir, "--sim-dir", simDir}

	stdout, stderr, code := runAgentBinary(t, append([]string{"plan"}, sim...)...)
	if code != 1 || !strings.Contains(stdout, "create") || !strings.Contains(stdout, "rejected old") || !strings.Contains(stdout, "version-mismatch") {
		t.Fatalf("plan on an empty host: exit %d\n%s%s", code, stdout, stderr)
	}
	// old stays rejected: --allow-rejected for a run that applies the rest.
	if _, stderr, code := runAgentBinary(t, append([]string{"run", "--once", "--timeout", "30s", "--allow-rejected"}, sim...)...); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	if stdout, _, code := runAgentBinary(t, append([]string{"plan"}, sim...)...); code != 0 || !strings.Contains(stdout, "no changes") {
		t.Fatalf("plan after run: exit %d\n%s", code, stdout)
	}

	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore:ltsc2022", "env: {A: b}")
	stdout, _, code = runAgentBinary(t, append([]string{"plan", "--json"}, sim...)...)
	var out reconcile.RunPlan
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, stdout)
	}
	if code != 1 || len(out.Actions) != 1 || out.Actions[0].Kind != "recreate" || len(out.Rejections) != 1 {
		t.Errorf("plan --json after a change: exit %d, %+v", code, out)
	}

	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	stdout, _, code = runAgentBinary(t, append([]string{"plan"}, sim...)...)
	if code != 1 || !strings.Contains(stdout, "stop") || !strings.Contains(stdout, "remove") || !strings.Contains(stdout, "spec gone") {
		t.Errorf("plan after a delete: exit %d\n%s", code, stdout)
	}

	if _, stderr, code := runAgentBinary(t, "plan", "--dir", dir, "--sim-dir", simDir, "--sim-host", "bogus"); code != 2 {
		t.Errorf("plan with a bad flag value: exit %d, want 2\n%s", code, stderr)
	}
}

func TestRunRejectsHCSOffWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("HCS exists on Windows")
	}
	_, stderr, code := runAgentBinary(t, "run", "--dir", t.TempDir(), "--driver", "hcs", "--once")
	if code != 2 || !strings.Contains(stderr, "Windows-only") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

// A spec folder that cannot be read shows in the agent's status as the
// condition LoadFailed, with the reason: `run --once` over a missing folder
// does not converge and prints it.
func TestRunShowsAMissingFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "specs")
	stdout, stderr, code := runAgentBinary(t, "run", "--dir", missing, "--sim-dir", t.TempDir(), "--once", "--timeout", "3s")
	if code != 1 || !strings.Contains(stdout, "LoadFailed: spec folder: ") || !strings.Contains(stdout, missing+": no such file or directory; the previous desired state stays in force") {
		t.Errorf("exit %d, want 1 and the condition LoadFailed\n%s%s", code, stdout, stderr)
	}
}

// TestRunAndPlanHonourMaxFileSize pins --max-file-size on run and plan, as
// docs/spec.md documents it: a file over the limit is invalid there too.
func TestRunAndPlanHonourMaxFileSize(t *testing.T) {
	dir, simDir := t.TempDir(), t.TempDir()
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore:ltsc2022")
	testutil.WriteSpec(t, dir, "big.yaml", "big", "mcr.microsoft.com/windows/servercore:ltsc2022", "env: {PADDING: '"+strings.Repeat("x", 300)+"'}")
	sim := []string{"--dir", dir, "--sim-dir", simDir, "--max-file-size", "200"}
	stdout, stderr, code := runAgentBinary(t, append([]string{"run", "--once", "--timeout", "30s"}, sim...)...)
	// An invalid file is not the folder applied: exit 1, naming it.
	if code != 1 || !strings.Contains(stdout, "invalid file "+filepath.Join(dir, "big.yaml")) || !strings.Contains(stdout, "larger than the limit of 200 bytes") || strings.Contains(stdout, "big ") ||
		!strings.Contains(stdout, "  invalid "+filepath.Join(dir, "big.yaml")) {
		t.Errorf("run: exit %d, want 1 with big.yaml invalid\n%s%s", code, stdout, stderr)
	}
	testutil.WriteSpec(t, dir, "api.yaml", "api", "mcr.microsoft.com/windows/servercore:ltsc2022")
	if stdout, _, _ := runAgentBinary(t, append([]string{"plan"}, sim...)...); !strings.Contains(stdout, "api-") || strings.Contains(stdout, "big-") {
		t.Errorf("plan: want api created and nothing of the file over the limit:\n%s", stdout)
	}
	if _, stderr, code := runAgentBinary(t, "run", "--dir", dir, "--sim-dir", simDir, "--max-file-size", "0", "--once"); code != 2 || !strings.Contains(stderr, "--max-file-size") {
		t.Errorf("run --max-file-size 0: exit %d, want 2\n%s", code, stderr)
	}
}

// plan follows run's rule for a folder that cannot be read: nothing
// changes, the LoadFailed condition says why, and, since the folder is not
// what the caller named, plan exits 2.
func TestPlanShowsAMissingFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "specs")
	stdout, stderr, code := runAgentBinary(t, "plan", "--dir", missing, "--sim-dir", t.TempDir())
	if code != 2 || !strings.Contains(stdout, "no changes") || !strings.Contains(stdout, "LoadFailed: load "+missing+": ") ||
		!strings.Contains(stderr, "isoagent plan: load "+missing+": ") {
		t.Errorf("exit %d, want 2 with no changes and LoadFailed\n%s%s", code, stdout, stderr)
	}
}
