package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/reconcile"
)

func TestVersionFlagsAndCommit(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		var out, errOut bytes.Buffer
		if code := dispatch(args, &out, &errOut); code != exitOK || !strings.HasPrefix(out.String(), "isoagent ") || !strings.Contains(out.String(), "(commit ") {
			t.Errorf("isoagent %s: exit %d, %q %q", args[0], code, out.String(), errOut.String())
		}
	}
	settings := func(kv ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{}
		for i := 0; i+1 < len(kv); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return bi
	}
	tests := []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{settings("vcs", "git", "vcs.revision", "80b2092", "vcs.modified", "false"), "commit 80b2092"},
		{settings("vcs", "git", "vcs.revision", "80b2092", "vcs.modified", "true"), "commit 80b2092-dirty"},
		{settings("-buildvcs", "false"), "commit unknown"},
		{nil, "commit unknown"},
	}
	for _, tt := range tests {
		if got := commitText(tt.bi); got != tt.want {
			t.Errorf("commitText(%v) = %q, want %q", tt.bi, got, tt.want)
		}
	}
}

func TestMistakesGetSuggestions(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"stauts"}, `isoagent: unknown command "stauts"; did you mean status?`},
		{[]string{"valdiate", "x"}, "did you mean validate?"},
		{[]string{"status", "--adr", "127.0.0.1:1"}, "isoagent status: unknown flag --adr; did you mean --addr?"},
		{[]string{"run", "--dir", "x", "--polcy", "p.yaml"}, "unknown flag --polcy; did you mean --policy?"},
		{[]string{"validate", "examples/specs", "--hostnme", "x"}, "unknown flag --hostnme; did you mean --hostname?"},
		{[]string{"sim", "ls", "--sim-dri", "x"}, "unknown flag --sim-dri; did you mean --sim-dir?"},
		{[]string{"wait", "--timeuot", "1s"}, "did you mean --timeout?"},
		{[]string{"completion", "bsh"}, "did you mean bash?"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := dispatch(tt.args, &out, &errOut)
		if code != exitUsage || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("isoagent %s: exit %d, stderr %q; want %d with %q", strings.Join(tt.args, " "), code, errOut.String(), exitUsage, tt.want)
		}
		if strings.Count(errOut.String(), "\n") > 2 {
			t.Errorf("isoagent %s: more than the mistake and where to look:\n%s", strings.Join(tt.args, " "), errOut.String())
		}
	}
	// A value that looks like a flag is the value, not a mistake.
	var out, errOut bytes.Buffer
	if code := dispatch([]string{"sim", "--sim-dir", t.TempDir(), "kill", "web", "--code", "-1"}, &out, &errOut); strings.Contains(errOut.String(), "unknown flag") {
		t.Errorf("a negative value was taken for a flag: exit %d %s", code, errOut.String())
	}
}

// Every command that prints JSON takes --output json (and -o json), and
// the old spellings still work.
func TestOutputSpellings(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	for _, args := range [][]string{
		{"validate", "--output", "json", "examples/specs"},
		{"validate", "-o", "json", "examples/specs"},
		{"validate", "--format", "json", "examples/specs"},
		{"validate", "--json", "examples/specs"},
		{"plan", "--dir", "examples/specs", "--sim-dir", "", "--output", "json"},
		{"plan", "--dir", "examples/specs", "--sim-dir", "", "--json"},
		{"doctor", "--driver", "sim", "--output", "json"},
		{"doctor", "--driver", "sim", "--json"},
	} {
		if args[0] == "plan" {
			args[4] = t.TempDir()
		}
		var out, errOut bytes.Buffer
		dispatch(args, &out, &errOut)
		if !json.Valid(out.Bytes()) || out.Len() == 0 {
			t.Errorf("isoagent %s: not JSON:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := dispatch([]string{"validate", "--output", "yaml", "examples/specs"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "want text or json") {
		t.Errorf("--output yaml: exit %d %s", code, errOut.String())
	}
}

func TestStatusTableFits120Columns(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	three := 3
	st := reconcile.Status{Converged: true, Containers: []reconcile.ContainerStatus{
		{Name: "iis-web", State: reconcile.StateRunning, EffectiveIsolation: "process", Image: "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022",
			ContainerID: "iis-web-7612592d3b69", InitPID: 4104, Since: now.Add(-time.Hour)},
		{Name: "batch", State: reconcile.StateExited, EffectiveIsolation: "hyperv", Image: "registry.corp.example:5000/finance/reports/nightly-billing-export:4.2-windowsservercore-ltsc2019",
			ExitCode: &three, RestartCount: 2, LastError: strings.Repeat("the process exited with code 3 after it could not open its input, ", 4) + "; run with --policy FILE, a policy file with the line mounts: [{path: 'D:\\sites\\web', readOnly: true}]", Since: now.Add(-time.Minute)},
	}}
	var narrow, wide bytes.Buffer
	printStatus(&narrow, st, now, false)
	printStatus(&wide, st, now, true)
	for _, line := range strings.Split(strings.TrimRight(narrow.String(), "\n"), "\n") {
		if n := len([]rune(line)); n > 120 {
			t.Errorf("%d columns: %q", n, line)
		}
	}
	for _, want := range []string{"EXIT", "HOST VIEW", "pid 4104", "…/windows/servercore/iis:windowsservercore-ltsc2022", ":4.2-windowsservercore-ltsc2019", "    the process exited with code 3"} {
		if !strings.Contains(narrow.String(), want) {
			t.Errorf("narrow table lacks %q:\n%s", want, narrow.String())
		}
	}
	// The whole note is there, wrapped, a line for each "; " part; a
	// policy entry to copy is never broken.
	note := strings.Join(strings.Fields(strings.ReplaceAll(st.Containers[1].LastError, "; ", " ")), " ")
	if got := strings.Join(strings.Fields(narrow.String()), " "); !strings.Contains(got, note) {
		t.Errorf("the narrow table lost part of the note:\n%s", narrow.String())
	}
	if !strings.Contains(narrow.String(), "\n    run with --policy FILE, a policy file with the line mounts: [{path: 'D:\\sites\\web', readOnly: true}]\n") {
		t.Errorf("the policy entry is not whole on a line of its own:\n%s", narrow.String())
	}
	if strings.Contains(narrow.String(), "iis-web-7612592d3b69") {
		t.Errorf("narrow table has the container ID:\n%s", narrow.String())
	}
	for _, want := range []string{"CONTAINER", "iis-web-7612592d3b69", "NOTE", st.Containers[0].Image, st.Containers[1].Image, st.Containers[1].LastError[:60]} {
		if !strings.Contains(wide.String(), want) {
			t.Errorf("wide table lacks %q:\n%s", want, wide.String())
		}
	}
	// The exit code is a column: batch's row has 3 in it.
	for _, line := range strings.Split(narrow.String(), "\n") {
		if strings.HasPrefix(line, "batch ") && !slices.Contains(strings.Fields(line), "3") {
			t.Errorf("batch's row lacks its exit code: %q", line)
		}
	}
}

// The bash completion script, loaded in a real bash, completes commands,
// subcommands and flags by asking the binary.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := agentBinary(t)
	dir := t.TempDir()
	// The script calls ${COMP_WORDS[0]}; name the binary as users do.
	link := filepath.Join(dir, "isoagent")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	script, _, code := runAgentBinary(t, "completion", "bash")
	if code != exitOK {
		t.Fatalf("completion bash: exit %d", code)
	}
	os.WriteFile(filepath.Join(dir, "c.bash"), []byte(script), 0o644)
	complete := func(words ...string) []string {
		t.Helper()
		w := make([]string, len(words))
		for i, s := range words {
			w[i] = "'" + s + "'"
		}
		prog := "source c.bash; COMP_WORDS=(" + strings.Join(w, " ") + "); COMP_CWORD=" + strings.TrimSpace(string(rune('0'+len(words)-1))) +
			`; _isoagent; printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, "--norc", "-c", prog)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	tests := []struct {
		words []string
		want  []string
	}{
		{[]string{"isoagent", "st"}, []string{"status"}},
		{[]string{"isoagent", "sim", ""}, []string{"kill", "ls"}},
		{[]string{"isoagent", "status", "--a"}, []string{"--addr"}},
		{[]string{"isoagent", "run", "--web.c"}, []string{"--web.config.file"}},
		{[]string{"isoagent", "sim", "ls", "--sim"}, []string{"--sim-dir"}},
		{[]string{"isoagent", "completion", ""}, []string{"bash", "powershell"}},
	}
	for _, tt := range tests {
		got := complete(tt.words...)
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("completing %q: %q lacks %q", tt.words, got, w)
			}
		}
	}
	// After a flag that takes a value, nothing of isoagent's (the shell
	// completes file names).
	if got := complete("isoagent", "run", "--dir", ""); slices.Contains(got, "--dir") {
		t.Errorf("completing the value of --dir offered flags: %q", got)
	}
}

func TestPowerShellCompletionScript(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := dispatch([]string{"completion", "powershell"}, &out, &errOut); code != exitOK ||
		!strings.Contains(out.String(), "Register-ArgumentCompleter -Native -CommandName isoagent, isoagent.exe") ||
		!strings.Contains(out.String(), "__complete @words") {
		t.Errorf("exit %d:\n%s%s", code, out.String(), errOut.String())
	}
	// What the script asks for: the candidates after the words typed.
	out.Reset()
	dispatch([]string{completeCommand, "status"}, &out, &errOut)
	if !slices.Contains(strings.Fields(out.String()), "--output") || !slices.Contains(strings.Fields(out.String()), "--wide") {
		t.Errorf("__complete status = %q", out.String())
	}
}
