package main

import (
	"strings"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
)

// run --once leaves the simulated containers running (as real ones are
// left); sim reset starts over: no container of any owner, no fault, no
// missing path; and the next run creates the containers again.
func TestSimResetStartsOver(t *testing.T) {
	dir, simDir := t.TempDir(), t.TempDir()
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022")
	run := []string{"run", "--dir", dir, "--sim-dir", simDir, "--once", "--timeout", "30s"}
	if stdout, stderr, code := runAgentBinary(t, run...); code != exitOK {
		t.Fatalf("run --once: exit %d\n%s%s", code, stdout, stderr)
	}
	if stdout, _, _ := runSimArgs(t, "--sim-dir", simDir, "ls"); !strings.Contains(stdout, "running") {
		t.Fatalf("after run --once the container is not left running:\n%s", stdout)
	}
	for _, args := range [][]string{{"fault", "create", "--count", "1", "--error", "unavailable"}, {"missing-path", `D:\data`}} {
		if _, stderr, code := runSimArgs(t, append([]string{"--sim-dir", simDir}, args...)...); code != exitOK {
			t.Fatalf("sim %s: %s", args[0], stderr)
		}
	}

	stdout, stderr, code := runSimArgs(t, "--sim-dir", simDir, "reset")
	if code != exitOK || stdout != "removed 1 containers, cleared 1 faults and 1 missing paths; the host's settings and images stay\n" {
		t.Fatalf("sim reset: exit %d %q %s", code, stdout, stderr)
	}
	ls, _, _ := runSimArgs(t, "--sim-dir", simDir, "ls")
	faults, _, _ := runSimArgs(t, "--sim-dir", simDir, "fault")
	paths, _, _ := runSimArgs(t, "--sim-dir", simDir, "missing-path")
	if strings.Count(ls, "\n") != 1 || strings.Contains(faults, "create") || paths != "" {
		t.Errorf("after reset:\nls:\n%s\nfaults:\n%s\nmissing paths:\n%s", ls, faults, paths)
	}
	stdout, stderr, code = runAgentBinary(t, run...)
	if code != exitOK || !strings.Contains(stdout, "running") {
		t.Errorf("run after reset: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := runSimArgs(t, "--sim-dir", simDir, "reset", "extra"); code != exitUsage {
		t.Errorf("reset with an argument: exit %d %s", code, stderr)
	}
}

func TestSimHelpSaysWhereAndWhatOnceLeaves(t *testing.T) {
	stdout, _, code := runSimArgs(t, "-h")
	for _, want := range []string{"reset [--owner OWNER]", "per user (--sim-dir, default " + defaultSimDir() + ")", "'isoagent run --once'\nleaves them running"} {
		if code != exitOK || !strings.Contains(stdout, want) {
			t.Errorf("sim -h lacks %q:\n%s", want, stdout)
		}
	}
}
