package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/validate"
)

// runValidateIn runs validate with the repository root as the working
// folder, so paths print as a user at the root would see them.
func runValidateIn(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Chdir(filepath.Join("..", ".."))
	var out, errOut bytes.Buffer
	code = runValidate(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestValidateBadExamplesGolden pins the exact text of validate's output on
// examples/bad: every line is what an operator reads. Run with -update to
// rewrite testdata/validate-bad.golden after a deliberate change.
func TestValidateBadExamplesGolden(t *testing.T) {
	golden, err := filepath.Abs(filepath.Join("testdata", "validate-bad.golden"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runValidateIn(t, "examples/bad")
	if code != exitProblem {
		t.Errorf("exit = %d, want %d", code, exitProblem)
	}
	testutil.Golden(t, golden, []byte(stdout), *update)
	if stderr != "7 files, 1 spec, 26 problems\n" {
		t.Errorf("summary = %q", stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if !strings.HasPrefix(line, "examples/bad/") {
			t.Errorf("line %q does not start with its file", line)
		}
	}
}

func TestValidateExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"good examples", []string{"examples/specs"}, exitOK},
		{"good file named directly", []string{"examples/specs/iis-web.yaml"}, exitOK},
		{"bad examples", []string{"examples/bad"}, exitProblem},
		{"good and bad", []string{"examples/specs", "examples/bad/ports.yaml"}, exitProblem},
		{"conflict only", []string{"examples/bad/dup-a.yaml", "examples/bad/dup-b.yaml"}, exitProblem},
		{"flags after paths", []string{"examples/specs", "--format", "json"}, exitOK},
		{"missing path", []string{"examples/nope"}, exitUsage},
		{"missing path beside a good one", []string{"examples/specs", "examples/nope"}, exitUsage},
		{"no paths", nil, exitUsage},
		{"bad format", []string{"--format", "xml", "examples/specs"}, exitUsage},
		{"bad max size", []string{"--max-file-size", "0", "examples/specs"}, exitUsage},
		{"unknown flag", []string{"--host", "x", "examples/specs"}, exitUsage},
		{"size limit", []string{"--max-file-size", "100", "examples/specs"}, exitProblem},
		{"help", []string{"-h"}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runValidateIn(t, tt.args...)
			if code != tt.want {
				t.Errorf("validate %v: exit %d, want %d\nstderr: %s", tt.args, code, tt.want, stderr)
			}
		})
	}
}

func TestValidateChecksFilesWhateverTheirName(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "web.spec")
	if err := os.WriteFile(file, []byte("apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec: {image: nanoserver:1809, pid: host}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := runValidate([]string{file}, &out, &errOut)
	want := file + ":4:32: spec.pid: Windows containers do not support sharing a process namespace; remove pid\n"
	if code != exitProblem || out.String() != want {
		t.Errorf("exit %d, output %q; want 1, %q", code, out.String(), want)
	}
	// The same file in a folder is not a spec file there.
	out.Reset()
	if code := runValidate([]string{dir}, &out, &errOut); code != exitOK || out.Len() != 0 {
		t.Errorf("folder: exit %d, output %q; want 0 and nothing", code, out.String())
	}
}

func TestValidateJSONShape(t *testing.T) {
	stdout, _, code := runValidateIn(t, "--format", "json", "examples/bad/ports.yaml", "examples/bad/dup-a.yaml", "examples/bad/dup-b.yaml")
	if code != exitProblem {
		t.Errorf("exit = %d", code)
	}
	var rep struct {
		Valid bool `json:"valid"`
		Files []struct {
			Path   string   `json:"path"`
			Specs  []string `json:"specs"`
			Errors []struct {
				Line    int    `json:"line"`
				Column  int    `json:"column"`
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"errors"`
		} `json:"files"`
		Conflicts []struct {
			Name   string `json:"name"`
			File   string `json:"file"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
			Winner struct {
				File   string `json:"file"`
				Line   int    `json:"line"`
				Column int    `json:"column"`
			} `json:"winner"`
			Message string `json:"message"`
		} `json:"conflicts"`
		Errors  []any `json:"errors"`
		Summary struct {
			Files, Specs, Problems int
		} `json:"summary"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("decode: %v\n%s", err, stdout)
	}
	if rep.Valid || len(rep.Files) != 3 || rep.Summary.Files != 3 || rep.Summary.Specs != 1 || rep.Summary.Problems != 7 {
		t.Errorf("report = %+v", rep)
	}
	if f := rep.Files[0]; f.Path != "examples/bad/dup-a.yaml" || strings.Join(f.Specs, ",") != "reports" || len(f.Errors) != 0 {
		t.Errorf("files[0] = %+v", f)
	}
	if f := rep.Files[2]; f.Path != "examples/bad/ports.yaml" || len(f.Specs) != 0 || len(f.Errors) != 6 ||
		f.Errors[0].Line != 9 || f.Errors[0].Column != 18 || f.Errors[0].Field != "spec.ports[0].hostPort" {
		t.Errorf("files[2] = %+v", f)
	}
	if len(rep.Conflicts) != 1 || rep.Conflicts[0].Name != "reports" || rep.Conflicts[0].File != "examples/bad/dup-b.yaml" ||
		rep.Conflicts[0].Winner.File != "examples/bad/dup-a.yaml" || rep.Conflicts[0].Message == "" {
		t.Errorf("conflicts = %+v", rep.Conflicts)
	}
	if rep.Errors == nil {
		t.Error("errors is null, want [] so consumers need no null check")
	}
}

// TestValidateJSONNeverCallsUnreadPathsValid pins that a path validate
// could not read makes the report invalid, names the path, and counts.
func TestValidateJSONNeverCallsUnreadPathsValid(t *testing.T) {
	for _, args := range [][]string{{"examples/nope"}, {"examples/specs", "examples/nope"}, {"examples/specs/iis-web.yaml", "examples/nope.yaml"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stdout, _, code := runValidateIn(t, append([]string{"--format", "json"}, args...)...)
			var rep validate.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("%v\n%s", err, stdout)
			}
			missing := args[len(args)-1]
			if code != exitUsage || rep.Valid || rep.Summary.Problems < 1 || len(rep.Errors) != 1 ||
				rep.Errors[0].File != missing || !strings.Contains(rep.Errors[0].Message, "cannot read it") {
				t.Errorf("exit %d, report %+v; want exit 2, invalid, the missing path among the errors", code, rep)
			}
		})
	}
	t.Run("text", func(t *testing.T) {
		stdout, _, _ := runValidateIn(t, "examples/nope")
		if !strings.HasPrefix(stdout, "examples/nope: cannot read it: ") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("text output = %q", stdout)
		}
	})
}
