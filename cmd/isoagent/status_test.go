package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/reconcile"
)

// startAgent runs `isoagent run` in the background until the test ends.
func startAgent(t *testing.T, args ...string) {
	t.Helper()
	stopMonitorsOf(t, args)
	testutil.StartAgent(t, agentBinary(t), append([]string{"run", "--log-format", "json"}, args...)...)
}

// An operator's pipeline: write specs, `isoagent wait`, then read
// `isoagent status`, against a real agent process over HTTP.
func TestWaitThenStatus(t *testing.T) {
	dir, simDir, addr := t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022")
	testutil.WriteSpec(t, dir, "old.yaml", "old", "mcr.microsoft.com/windows/servercore:ltsc2019", "isolation: process")
	startAgent(t, "--dir", dir, "--sim-dir", simDir, "--listen", addr, "--resync", "1s")

	// Converged, but old does not run: wait says which, and exits 1.
	stdout, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s")
	if code != exitProblem || !strings.Contains(stdout, "converged: 2 specs, revision -, 1 rejected\n") ||
		!strings.Contains(stderr, "  rejected old ("+filepath.Join(dir, "old.yaml")+":1): version-mismatch: ") {
		t.Fatalf("wait exited %d, want 1 naming old: %s%s", code, stdout, stderr)
	}
	if stdout, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s", "--allow-rejected"); code != exitOK || !strings.Contains(stdout, "rejected old") {
		t.Fatalf("wait --allow-rejected exited %d, want 0 and old named: %s%s", code, stdout, stderr)
	}

	stdout, stderr, code = runAgentBinary(t, "status", "--addr", addr)
	if code != exitOK {
		t.Fatalf("status exited %d: %s", code, stderr)
	}
	for _, want := range []string{": converged, 1 rejected\n", "web ", "running", "pid ", "old ", "rejected", "version-mismatch", "AGE"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status table lacks %q:\n%s", want, stdout)
		}
	}

	stdout, _, code = runAgentBinary(t, "status", "--addr", addr, "--json")
	var st reconcile.Status
	if err := json.Unmarshal([]byte(stdout), &st); code != exitOK || err != nil {
		t.Fatalf("status --json: exit %d, %v\n%s", code, err, stdout)
	}
	if !st.Converged || len(st.Containers) != 2 {
		t.Errorf("status --json: converged %v, %d containers", st.Converged, len(st.Containers))
	}
}

// A change written just before `wait` is waited for: wait never reports
// the state from before the change.
func TestWaitSeesAChangeWrittenJustBefore(t *testing.T) {
	dir, simDir, addr := t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022")
	startAgent(t, "--dir", dir, "--sim-dir", simDir, "--listen", addr)
	if _, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s"); code != exitOK {
		t.Fatalf("first wait exited %d: %s", code, stderr)
	}

	testutil.WriteSpec(t, dir, "api.yaml", "api", "mcr.microsoft.com/windows/nanoserver:ltsc2022")
	if _, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s"); code != exitOK {
		t.Fatalf("second wait exited %d: %s", code, stderr)
	}
	stdout, _, _ := runAgentBinary(t, "sim", "--sim-dir", simDir, "ls")
	if !strings.Contains(stdout, "api-") {
		t.Errorf("wait returned before the new spec ran; sim ls:\n%s", stdout)
	}
}

func TestWaitTimesOutWhileNotConverged(t *testing.T) {
	dir, simDir, addr := t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022")
	// Every create fails, so the host never matches the folder.
	if _, stderr, code := runAgentBinary(t, "sim", "--sim-dir", simDir, "fault", "create", "--count", "1000", "--error", "unavailable"); code != exitOK {
		t.Fatalf("sim fault: %s", stderr)
	}
	startAgent(t, "--dir", dir, "--sim-dir", simDir, "--listen", addr)
	start := time.Now()
	_, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "3s")
	if code != exitProblem {
		t.Fatalf("wait exited %d, want %d: %s", code, exitProblem, stderr)
	}
	if !strings.Contains(stderr, "not converged") || !strings.Contains(stderr, "web") {
		t.Errorf("wait's message does not say what is not converged:\n%s", stderr)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("wait took %s with --timeout 3s", time.Since(start))
	}
}

func TestStatusWithoutAgent(t *testing.T) {
	addr := testutil.FreeAddr(t)
	_, stderr, code := runAgentBinary(t, "status", "--addr", addr)
	if code != exitUsage || !strings.Contains(stderr, "no agent answers at "+addr) {
		t.Errorf("status with no agent: exit %d, %q", code, stderr)
	}
	_, stderr, code = runAgentBinary(t, "wait", "--addr", addr, "--timeout", "5s")
	if code != exitUsage || !strings.Contains(stderr, "no agent answers") {
		t.Errorf("wait with no agent: exit %d, %q", code, stderr)
	}
}
