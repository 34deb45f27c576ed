package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
)

const denyAllPolicy = "apiVersion: isoagent/v1\nkind: Policy\n"

// TestValidatePolicyGolden pins what validate prints for specs that pierce
// isolation every way a spec can, under a policy that allows nothing: one line per field at fault, each
// naming the spec and the policy entry that would allow it. Run with
// -update to rewrite testdata/validate-policy.golden.
func TestValidatePolicyGolden(t *testing.T) {
	golden, err := filepath.Abs(filepath.Join("testdata", "validate-policy.golden"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runValidateIn(t, "--policy", "cmd/isoagent/testdata/deny-all-policy.yaml", "--host-build", "20348", "cmd/isoagent/testdata/policy-specs")
	if code != exitProblem {
		t.Errorf("exit = %d, want %d\n%s", code, exitProblem, stderr)
	}
	testutil.Golden(t, golden, []byte(stdout), *update)
}

func TestValidateWithPolicy(t *testing.T) {
	t.Run("the example policy lets every example spec run", func(t *testing.T) {
		stdout, stderr, code := runValidateIn(t, "--policy", "examples/policy.yaml", "--host-build", "20348", "examples/specs")
		if code != exitOK || stdout != "" {
			t.Errorf("exit %d\n%s%s", code, stdout, stderr)
		}
	})
	// Issue 15 point 12: a broken policy file is a problem found (exit 1)
	// with its located errors among the others, not a usage error.
	t.Run("an invalid policy is a problem with located errors", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "policy.yaml")
		testutil.WriteFile(t, bad, denyAllPolicy+"mount: []\nports: ['80']\n")
		stdout, stderr, code := runValidateIn(t, "--policy", bad, "examples/specs")
		if code != exitProblem {
			t.Errorf("exit %d, want %d", code, exitProblem)
		}
		for _, want := range []string{bad + `:3:1: mount: unknown field "mount"; did you mean mounts?`, bad + `:4:9: ports[0]: "80" needs its protocol`} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s%s", want, stdout, stderr)
			}
		}
	})
	// Issue 15 point 8: a syntax error of the policy file at its line and
	// column, which yaml.v3 alone does not tell.
	t.Run("a syntax error of the policy is at its line and column", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "policy.yaml")
		testutil.WriteFile(t, bad, denyAllPolicy+"ports: ['80/tcp',\nmounts: []\n")
		stdout, stderr, code := runValidateIn(t, "--policy", bad, "examples/specs")
		if want := bad + ":3:8: invalid YAML: sequence end token ']' not found"; code != exitProblem || !strings.Contains(stdout, want) {
			t.Errorf("exit %d, want %d and %q\nstdout: %s\nstderr: %s", code, exitProblem, want, stdout, stderr)
		}
	})
	t.Run("a missing policy file is one line and a usage error", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.yaml")
		stdout, stderr, code := runValidateIn(t, "--policy", missing, "examples/specs")
		if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, missing) {
			t.Errorf("exit %d, want %d and one line naming the file\nstdout: %q\nstderr: %q", code, exitUsage, stdout, stderr)
		}
	})
	t.Run("admission alone reports version mismatches", func(t *testing.T) {
		dir := t.TempDir()
		testutil.WriteSpec(t, dir, "old.yaml", "old", "mcr.microsoft.com/windows/servercore:ltsc2019", "isolation: process", "mounts: [{hostPath: 'C:\\Windows', containerPath: 'C:\\w'}]")
		stdout, _, code := runValidateIn(t, "--host-build", "20348", dir)
		if code != exitProblem || !strings.Contains(stdout, "old is rejected on host build 20348 (version-mismatch): image build 17763 (ltsc2019)") {
			t.Errorf("exit %d\n%s", code, stdout)
		}
		if strings.Contains(stdout, "policy") {
			t.Errorf("without --policy the policy was checked:\n%s", stdout)
		}
	})
	t.Run("a spec for other hosts is checked on its image's build", func(t *testing.T) {
		dir := t.TempDir()
		testutil.WriteSpec(t, dir, "gpu.yaml", "gpu", "mcr.microsoft.com/windows:ltsc2019", "isolation: process", "hosts: ['GPU-*']", "devices: [{classGUID: 5B45201D-F2F2-4F3B-85BB-30FF1F953599}]")
		stdout, _, code := runValidateIn(t, "--policy", "examples/policy.yaml", "--host-build", "20348", dir)
		if code != exitOK {
			t.Errorf("exit %d\n%s", code, stdout)
		}
		policy := filepath.Join(t.TempDir(), "p.yaml")
		testutil.WriteFile(t, policy, denyAllPolicy)
		stdout, _, code = runValidateIn(t, "--policy", policy, dir)
		if code != exitProblem || !strings.Contains(stdout, "spec.devices[0].classGUID: gpu is rejected (policy): device class 5B45201D-F2F2-4F3B-85BB-30FF1F953599 is not allowed") {
			t.Errorf("exit %d\n%s", code, stdout)
		}
	})
	t.Run("a bad host SKU is a usage error", func(t *testing.T) {
		if _, stderr, code := runValidateIn(t, "--host-build", "20348", "--host-sku", "desktop", "examples/specs"); code != exitUsage || !strings.Contains(stderr, "--host-sku") {
			t.Errorf("exit %d\n%s", code, stderr)
		}
	})
}

// suggestedRE finds the policy entries rejections suggest.
// The line a hint names runs to the end of the violation ("; " or the end
// of the note) or to " to the policy file".
var suggestedRE = regexp.MustCompile(`(?:with|needs|add) the line ([a-zA-Z]+: .+?)(?:; | to the policy file|\n|$)`)

// TestRunAsANewUser is the walk a new user takes: run a spec with a mount
// and a port without a policy, read why they are refused, put the entries
// the messages suggest into a policy file, and see the container run.
func TestRunAsANewUser(t *testing.T) {
	dir, simDir := t.TempDir(), t.TempDir()
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022",
		`mounts: [{hostPath: 'D:\sites\web', containerPath: 'C:\inetpub\wwwroot', readOnly: true}]`,
		"ports: [{hostPort: 8080, containerPort: 80}]")
	args := []string{"run", "--dir", dir, "--sim-dir", simDir, "--once", "--timeout", "30s", "--log-format", "json"}

	// Converged, but the spec does not run: exit 1, naming it, its file
	// and why.
	stdout, stderr, code := runAgentBinary(t, args...)
	if code != exitProblem || !strings.Contains(stdout, ": converged, 1 rejected\n") ||
		!strings.Contains(stdout, "  rejected web ("+filepath.Join(dir, "web.yaml")+":1): policy: spec.mounts[0].hostPath\n") {
		t.Fatalf("run without a policy: exit %d, want 1 naming web\n%s%s", code, stdout, stderr)
	}
	if _, _, code := runAgentBinary(t, append(args, "--allow-rejected")...); code != exitOK {
		t.Fatalf("run without a policy, --allow-rejected: exit %d, want 0", code)
	}
	for _, want := range []string{"web", "rejected", "no --policy file is given", `a policy file with the line mounts: [{path: 'D:\sites\web', readOnly: true}]`, `needs the line ports: ['8080/tcp']`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, stdout)
		}
	}
	if acts := actionLines(t, stderr); len(acts) != 0 {
		t.Errorf("a refused spec was acted on: %v", acts)
	}

	policy := denyAllPolicy
	for _, m := range suggestedRE.FindAllStringSubmatch(stdout, -1) {
		policy += m[1] + "\n"
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	testutil.WriteFile(t, path, policy)
	stdout, stderr, code = runAgentBinary(t, append(args, "--policy", path)...)
	if code != exitOK || !regexp.MustCompile(`(?m)^web +running`).MatchString(stdout) {
		t.Fatalf("run with the suggested policy\n%s: exit %d\n%s%s", policy, code, stdout, stderr)
	}

	// web runs: refusing it now is a change an operator must see.
	stdout, stderr, code = runAgentBinary(t, "plan", "--dir", dir, "--sim-dir", simDir)
	if code != exitProblem || !strings.Contains(stdout, "rejected web") || !strings.Contains(stdout, "policy: spec.mounts[0].hostPath") ||
		!strings.Contains(stderr, "web would be rejected while its container runs") {
		t.Errorf("plan without the policy: exit %d (want 1: a running spec newly refused is a change)\n%s%s", code, stdout, stderr)
	}
	stdout, _, code = runAgentBinary(t, "plan", "--dir", dir, "--sim-dir", simDir, "--policy", path)
	if code != exitOK || !strings.Contains(stdout, "no changes") || strings.Contains(stdout, "rejected") {
		t.Errorf("plan with the policy: exit %d\n%s", code, stdout)
	}
}

func TestRunStopsOnAnInvalidPolicy(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore:ltsc2022")
	for name, content := range map[string]string{
		"invalid": denyAllPolicy + "ports: ['8080']\n",
		"missing": "",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			if content != "" {
				testutil.WriteFile(t, path, content)
			}
			_, stderr, code := runAgentBinary(t, "run", "--dir", dir, "--sim-dir", t.TempDir(), "--once", "--log-format", "text", "--policy", path)
			if code != exitUsage || !strings.Contains(stderr, "policy file "+path+" is not usable") {
				t.Errorf("exit %d\n%s", code, stderr)
			}
		})
	}
}
