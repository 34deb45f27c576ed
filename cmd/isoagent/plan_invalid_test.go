package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/reconcile"
)

// TestPlanSaysWhyAFileIsLeftOut: a spec file that does not validate (here
// both CPU limits with the default isolation) is left out of the plan, and
// plan says so with the validation error, as validate and status do.
func TestPlanSaysWhyAFileIsLeftOut(t *testing.T) {
	dir, simDir := t.TempDir(), t.TempDir()
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore:ltsc2022", "resources: {cpuCount: 2, cpuMaximumPercent: 50}")
	testutil.WriteSpec(t, dir, "api.yaml", "api", "mcr.microsoft.com/windows/servercore:ltsc2022")
	stdout, stderr, code := runAgentBinary(t, "plan", "--dir", dir, "--sim-dir", simDir)
	const want = "web.yaml:7:47: spec.resources.cpuMaximumPercent: with isolation: default (process isolation on Windows Server) a container gets one processor limit"
	if code != 1 || !strings.Contains(stdout, "invalid ") || !strings.Contains(stdout, want) || !strings.Contains(stdout, "create") {
		t.Fatalf("plan: exit %d, want 1 with api created and web's file invalid (%q)\n%s%s", code, want, stdout, stderr)
	}
	stdout, _, _ = runAgentBinary(t, "plan", "--json", "--dir", dir, "--sim-dir", simDir)
	var out reconcile.RunPlan
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Invalid) != 1 || !strings.Contains(out.Invalid[0], want) {
		t.Errorf("plan --json invalid = %q, want web.yaml's error", out.Invalid)
	}
}
