package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/reconcile"
)

// An agent on a checkout with an uncommitted spec reports the revision
// with -dirty, and /status and the status table name the file.
func TestStatusNamesUncommittedSpecs(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	dir, simDir, addr := t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(gitBin, append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@isoagent.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022")
	git("add", "-A")
	git("commit", "-q", "-m", "web")
	head := git("rev-parse", "HEAD")
	testutil.WriteSpec(t, dir, "api.yaml", "api", "mcr.microsoft.com/windows/nanoserver:ltsc2022")

	startAgent(t, "--dir", dir, "--sim-dir", simDir, "--listen", addr)
	if _, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s"); code != exitOK {
		t.Fatalf("wait: %s", stderr)
	}
	stdout, _, _ := runAgentBinary(t, "status", "--addr", addr, "-o", "json")
	var st reconcile.Status
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.Revision != head+"-dirty" || !slices.Equal(st.RevisionChanges, []string{"api.yaml"}) {
		t.Errorf("revision %q, changes %q; want %q, [api.yaml]", st.Revision, st.RevisionChanges, head+"-dirty")
	}
	stdout, _, _ = runAgentBinary(t, "status", "--addr", addr)
	if !strings.Contains(stdout, "revision "+head+"-dirty") || !strings.Contains(stdout, "spec files not committed at revision "+head+"-dirty: api.yaml") {
		t.Errorf("status table:\n%s", stdout)
	}
}
