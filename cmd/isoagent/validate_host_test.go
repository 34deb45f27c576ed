package main

import (
	"strings"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
)

// validate --hostname/--label acts as that host's agent: a spec meant for
// other hosts is not its problem, a spec meant for it is admitted on
// --host-build even when its hosts or selector pick it.
func TestValidateActsAsTheNamedHost(t *testing.T) {
	dir := t.TempDir()
	// Meant for the old hosts only: an ltsc2019 image with process isolation.
	testutil.WriteSpec(t, dir, "old.yaml", "old", "mcr.microsoft.com/windows/servercore:ltsc2019", "isolation: process", "hosts: ['OLD-*']")
	// Meant for GPU hosts by label.
	testutil.WriteSpec(t, dir, "gpu.yaml", "gpu", "mcr.microsoft.com/windows/servercore:ltsc2019", "isolation: process", "selector: {gpu: 'true'}")
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore:ltsc2022")
	mismatch := func(name string) string { return name + " is rejected on host build 20348 (version-mismatch)" }
	tests := []struct {
		name       string
		args       []string
		code       int
		want, nots []string
	}{
		{"as a new host", []string{"--host-build", "20348", "--hostname", "NEW-01"}, exitOK, nil, []string{"old is", "gpu is"}},
		{"as an old host on the new build", []string{"--host-build", "20348", "--hostname", "OLD-07"}, exitProblem, []string{mismatch("old")}, []string{"gpu is"}},
		{"hostname matched whatever its case", []string{"--hostname", "old-07"}, exitProblem, []string{mismatch("old")}, nil},
		{"as a GPU host", []string{"--host-build", "20348", "--hostname", "NEW-01", "--label", "gpu=true"}, exitProblem, []string{mismatch("gpu")}, []string{"old is"}},
		{"label alone", []string{"--label", "gpu=true"}, exitProblem, []string{mismatch("gpu")}, []string{"old is"}},
		// Without a host's name every spec is taken to be meant for it, and
		// one with hosts or a selector runs on its image's build.
		{"no host named", []string{"--host-build", "20348"}, exitOK, nil, []string{"old is", "gpu is"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runValidateIn(t, append(tt.args, dir)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
			for _, n := range tt.nots {
				if strings.Contains(stdout, n) {
					t.Errorf("output has %q:\n%s", n, stdout)
				}
			}
		})
	}
}

func TestValidateMissingPathIsOneLine(t *testing.T) {
	stdout, stderr, code := runValidateIn(t, "examples/nope")
	if code != exitUsage || strings.Count(stdout+stderr, "\n") != 1 || !strings.HasPrefix(stdout, "examples/nope: cannot read it: ") {
		t.Errorf("exit %d, want %d and one line\nstdout: %q\nstderr: %q", code, exitUsage, stdout, stderr)
	}
}

// The help says what each flag makes validate check, and what it does not.
func TestValidateHelpSaysWhatIsChecked(t *testing.T) {
	_, stderr, code := runValidateIn(t, "-h")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"Always checked: the YAML",
		"With --host-build",
		"With --hostname and --label: acting as that host's agent",
		"With --policy: the boundary policy file is checked",
		"junctions and links are not\nfollowed",
		"Without --policy the policy is\nnot checked",
		"1 problems found (in the specs or the policy\nfile)",
		"-hostname name", "-label value",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("help lacks %q:\n%s", want, stderr)
		}
	}
}
