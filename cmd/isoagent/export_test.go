package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runExportIn runs export with the repository root as the working folder,
// as a user at the root would.
func runExportIn(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Chdir(filepath.Join("..", ".."))
	var out, errOut bytes.Buffer
	code = dispatch(append([]string{"export"}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestExportExamples: the command writes what package kube's golden file
// holds, and says every note on stderr.
func TestExportExamples(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("..", "..", "kube", "testdata", "examples.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runExportIn(t, "kubernetes", "examples/specs", "--policy", "examples/policy.yaml")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != strings.ReplaceAll(string(golden), "\r\n", "\n") {
		t.Errorf("stdout differs from kube/testdata/examples.yaml:\n%s", stdout)
	}
	for _, want := range []string{
		"examples/specs/sidecar-pair.yaml:18: portal-logs: spec.network.mode: container:portal becomes a second container in portal's pod",
		"examples/specs/nightly-report.yaml:6: nightly-report: spec.network.mode: none has no equivalent",
		"isoagent export: 7 specs, 9 objects\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestExportOutput(t *testing.T) {
	dir := t.TempDir()
	t.Run("file", func(t *testing.T) {
		file := filepath.Join(dir, "all.yaml")
		stdout, stderr, code := runExportIn(t, "kubernetes", "examples/specs", "-o", file)
		if code != exitOK || stdout != "" {
			t.Fatalf("exit %d, stdout %q: %s", code, stdout, stderr)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(data, []byte("\n---\n")) + 1; n != 9 {
			t.Errorf("%d documents, want 9", n)
		}
	})
	t.Run("folder", func(t *testing.T) {
		out := filepath.Join(dir, "manifests") + string(filepath.Separator)
		_, stderr, code := runExportIn(t, "kubernetes", "examples/specs", "--namespace", "apps", "-o", out)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, name := range []string{"deployment-iis-web.yaml", "daemonset-render-worker.yaml", "cronjob-nightly-report.yaml",
			"runtimeclass-isoagent-hyperv.yaml", "validatingadmissionpolicy-isoagent-boundary-apps.yaml",
			"validatingadmissionpolicybinding-isoagent-boundary-apps.yaml"} {
			if _, err := os.Stat(filepath.Join(out, name)); err != nil {
				t.Error(err)
			}
		}
	})
}

// TestExportRefuses: a folder with an invalid file, a bad policy or bad
// arguments export nothing.
func TestExportRefuses(t *testing.T) {
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "a.yaml"), []byte("apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: a}\nspec: {imag: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badPolicy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(badPolicy, []byte("apiVersion: isoagent/v1\nkind: Policy\nmount: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"invalid spec file", []string{"kubernetes", bad}, exitProblem, "fix them first"},
		{"invalid policy", []string{"kubernetes", "examples/specs", "--policy", badPolicy}, exitProblem, "not usable"},
		{"no folder", []string{"kubernetes"}, exitUsage, "want: isoagent export kubernetes DIR"},
		{"another target", []string{"nomad", "examples/specs"}, exitUsage, "want: isoagent export kubernetes DIR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runExportIn(t, tt.args...)
			if code != tt.code || stdout != "" || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want %q)", code, tt.code, stdout, stderr, tt.stderr)
			}
		})
	}
}
