package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
)

// logErrors returns the err attributes of a JSON log's records.
func logErrors(t *testing.T, log string) []string {
	t.Helper()
	var out []string
	for line := range strings.Lines(log) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if e, ok := rec["err"].(string); ok {
			out = append(out, e)
		}
	}
	return out
}

// Issue 20 point 5: a second agent of the same owner on one host, on
// another folder, refuses to start and names the first; a first killed
// with kill -9 leaves nothing that keeps the next one from starting.
func TestSecondAgentOfAnOwnerRefusesToStart(t *testing.T) {
	dirA, dirB, simDir, addr := t.TempDir(), t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
	testutil.WriteSpec(t, dirA, "a.yaml", "a", "mcr.microsoft.com/windows/nanoserver:ltsc2022")
	testutil.WriteSpec(t, dirB, "b.yaml", "b", "mcr.microsoft.com/windows/nanoserver:ltsc2022")
	cmd := exec.Command(agentBinary(t), "run", "--log-format", "json", "--dir", dirA, "--sim-dir", simDir, "--listen", addr)
	first := testutil.Start(t, "first agent", cmd)
	if _, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s"); code != exitOK {
		t.Fatalf("wait for the first agent exited %d: %s", code, stderr)
	}

	_, stderr, code := runAgentBinary(t, "run", "--log-format", "json", "--dir", dirB, "--sim-dir", simDir, "--once", "--timeout", "30s")
	errs := strings.Join(logErrors(t, stderr), "\n")
	absA, _ := filepath.Abs(dirA)
	if code != exitUsage || !strings.Contains(errs, "PID "+strconv.Itoa(cmd.Process.Pid)) || !strings.Contains(errs, absA) {
		t.Errorf("second agent: exit %d, errors %q; want it refused, naming PID %d and %s\n%s", code, errs, cmd.Process.Pid, absA, stderr)
	}
	if stdout, _, _ := runAgentBinary(t, "sim", "--sim-dir", simDir, "ls"); strings.Contains(stdout, "b-") {
		t.Errorf("the refused agent created its container:\n%s", stdout)
	}
	// Another owner is not held up.
	if _, stderr, code := runAgentBinary(t, "run", "--dir", dirB, "--sim-dir", simDir, "--owner", "teamb", "--once", "--timeout", "30s"); code != exitOK {
		t.Errorf("an agent of another owner: exit %d\n%s", code, stderr)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for ; !first.Exited(); <-tick.C {
		if time.Now().After(deadline) {
			t.Fatal("the first agent still runs 30s after kill -9")
		}
	}
	if stdout, stderr, code := runAgentBinary(t, "run", "--dir", dirA, "--sim-dir", simDir, "--once", "--timeout", "30s"); code != exitOK {
		t.Errorf("after kill -9 of the first agent: exit %d\n%s%s", code, stdout, stderr)
	}
}

// Issue 20 point 6: agents of two owners over one folder on one host each
// run their own container; neither takes the other's ID.
func TestTwoOwnersOverOneFolder(t *testing.T) {
	dir, simDir := t.TempDir(), t.TempDir()
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/nanoserver:ltsc2022")
	for _, owner := range []string{"isoagent", "teamb", "isoagent", "teamb"} {
		stdout, stderr, code := runAgentBinary(t, "run", "--dir", dir, "--sim-dir", simDir, "--owner", owner, "--once", "--timeout", "30s", "--log-format", "json")
		if code != exitOK {
			t.Fatalf("owner %s: exit %d\n%s%s", owner, code, stdout, stderr)
		}
	}
	stdout, _, _ := runAgentBinary(t, "sim", "--sim-dir", simDir, "ls")
	ids := map[string]string{} // owner -> ID
	for line := range strings.Lines(stdout) {
		f := strings.Fields(line)
		if len(f) > 4 && f[0] == "web" {
			if ids[f[2]] != "" {
				t.Errorf("two containers of %s:\n%s", f[2], stdout)
			}
			ids[f[2]] = f[1]
			if f[4] != "running" {
				t.Errorf("%s's web is %s", f[2], f[4])
			}
		}
	}
	if len(ids) != 2 || ids["isoagent"] == "" || ids["teamb"] == "" || ids["isoagent"] == ids["teamb"] {
		t.Errorf("want one running web per owner, with different IDs:\n%s", stdout)
	}
}
