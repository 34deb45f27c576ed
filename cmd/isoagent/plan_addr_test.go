package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/reconcile"
)

// plan --addr asks the running agent, which plans with its own host
// name, labels and policy: where a local plan with other flags sees
// rejections, the agent's plan sees what it runs, and no change.
func TestPlanAddrAsksTheAgent(t *testing.T) {
	dir, simDir, addr := t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022",
		"hosts: ['WEB-*']", "ports: [{hostPort: 8080, containerPort: 80}]")
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	testutil.WriteFile(t, pol, "apiVersion: isoagent/v1\nkind: Policy\nports: ['8080/tcp']\n")
	startAgent(t, "--dir", dir, "--sim-dir", simDir, "--listen", addr, "--hostname", "WEB-01", "--policy", pol)
	if stdout, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s"); code != exitOK {
		t.Fatalf("wait exited %d: %s%s", code, stdout, stderr)
	}

	stdout, stderr, code := runAgentBinary(t, "plan", "--addr", addr)
	if code != exitOK || !strings.Contains(stdout, "no changes") || strings.Contains(stdout, "rejected") {
		t.Errorf("plan --addr: exit %d, want 0 and no changes nor rejections\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	stdout, _, code = runAgentBinary(t, "plan", "--addr", addr, "--output", "json")
	var p reconcile.RunPlan
	if err := json.Unmarshal([]byte(stdout), &p); code != exitOK || err != nil || len(p.Actions) != 0 || len(p.Rejections) != 0 {
		t.Errorf("plan --addr --output json: exit %d, %v, want a plan without actions or rejections\n%s", code, err, stdout)
	}

	// The same folder planned here, without the agent's flags.
	stdout, _, _ = runAgentBinary(t, "plan", "--dir", dir, "--sim-dir", simDir)
	if !strings.Contains(stdout, "remove  web") || !strings.Contains(stdout, "1 spec for other hosts") {
		t.Errorf("a local plan without the agent's host name would not remove web as meant for other hosts, so the test shows nothing:\n%s", stdout)
	}

	// The agent's flags are its own with --addr.
	_, stderr, code = runAgentBinary(t, "plan", "--addr", addr, "--hostname", "OTHER")
	if code != exitUsage || !strings.Contains(stderr, "drop --hostname") {
		t.Errorf("plan --addr --hostname: exit %d, want %d saying to drop it: %s", code, exitUsage, stderr)
	}
}
