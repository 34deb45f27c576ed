package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/monitor"
)

// watchedSimDirs are the state folders whose monitors a test stops, by
// test, so that each is registered once.
var watchedSimDirs sync.Map

// stopMonitorsOf stops, at the end of the test, the monitors of the
// simulated host an isoagent command line names with --sim-dir: a run
// leaves its containers, and their monitors, running.
func stopMonitorsOf(t *testing.T, args []string) {
	for i, a := range args {
		if a == "--sim-dir" && i+1 < len(args) {
			stopMonitors(t, args[i+1])
		}
	}
}

// stopMonitors ends, when the test ends and before its folders go, every
// container of the simulated host in simDir that still runs, and waits
// for their monitors, which outlive the agent.
func stopMonitors(t *testing.T, simDir string) {
	if _, seen := watchedSimDirs.LoadOrStore(t.Name()+"\x00"+simDir, true); seen {
		return
	}
	t.Cleanup(func() {
		stdout, _, _ := runAgentBinary(t, "sim", "--sim-dir", simDir, "ls")
		for _, line := range strings.Split(stdout, "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.Contains(line, "running") {
				// By ID: a name two owners run is ambiguous.
				runAgentBinary(t, "sim", "--sim-dir", simDir, "kill", f[1])
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		l := monitor.Layout{Dir: simDir}
		ids, _ := os.ReadDir(l.Root())
		for _, id := range ids {
			runs, _ := l.Runs(id.Name())
			for _, r := range runs {
				if h, err := monitor.Open(r); err == nil {
					h.Wait(ctx)
				}
			}
		}
	})
}

// writeJobAndPinger writes the two specs the log tests share into dir:
// job prints two lines and exits 3, never restarted; pinger prints a
// reply a second until it is stopped.
func writeJobAndPinger(t *testing.T, dir string) {
	t.Helper()
	testutil.WriteSpec(t, dir, "job.yaml", "job", "mcr.microsoft.com/windows/servercore:ltsc2022",
		`command: ['cmd', '/c', 'echo working & echo failed badly & exit 3']`, "restartPolicy: never")
	testutil.WriteSpec(t, dir, "pinger.yaml", "pinger", "mcr.microsoft.com/windows/servercore:ltsc2022",
		`command: ['ping', '-t', 'localhost']`)
}

// A container's output, as an operator reads it: from the state folder and
// through the agent's API, whole, its tail, with timestamps, followed; and
// clear errors for what has none.
func TestLogsOfContainers(t *testing.T) {
	dir, simDir, addr := t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
	stopMonitors(t, simDir)
	writeJobAndPinger(t, dir)
	testutil.WriteSpec(t, dir, "quiet.yaml", "quiet", "mcr.microsoft.com/windows/servercore:ltsc2022")
	startAgent(t, "--dir", dir, "--sim-dir", simDir, "--listen", addr)
	if _, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s"); code != exitOK {
		t.Fatalf("wait exited %d: %s", code, stderr)
	}
	// The job's exit is in the status, with its code.
	stdout, _, _ := runAgentBinary(t, "status", "--addr", addr, "--json")
	var st struct {
		Containers []struct {
			Name     string
			State    string
			ExitCode *int
		}
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Containers {
		if c.Name == "job" && (c.State != "exited" || c.ExitCode == nil || *c.ExitCode != 3) {
			t.Errorf("status of job: %+v, want exited with 3", c)
		}
	}

	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z `)
	for _, where := range [][]string{{"--sim-dir", simDir}, {"--addr", addr}} {
		tests := []struct {
			args   []string
			code   int
			stdout string
			stderr string
		}{
			{[]string{"logs", "job"}, exitOK, "working\nfailed badly\n", ""},
			{[]string{"logs", "job", "--tail", "1"}, exitOK, "failed badly\n", ""},
			{[]string{"logs", "quiet"}, exitOK, "", ""},
			{[]string{"logs", "nope"}, exitProblem, "", `"nope": no such container`},
			{[]string{"logs", "job", "--previous"}, exitProblem, "", `"job": the container has no previous run`},
			{[]string{"logs"}, exitUsage, "", "want one container name"},
		}
		for _, tt := range tests {
			args := append(tt.args, where...)
			stdout, stderr, code := runAgentBinary(t, args...)
			if code != tt.code || stdout != tt.stdout || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("isoagent %s: exit %d, stdout %q, stderr %q; want %d, %q, %q", strings.Join(args, " "), code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		}
		stdout, _, _ := runAgentBinary(t, append([]string{"logs", "job", "--timestamps"}, where...)...)
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			if !stamp.MatchString(line) {
				t.Errorf("logs --timestamps %s: line %q has no timestamp", where[0], line)
			}
		}
		// -f prints new lines as the container prints them.
		follow(t, append([]string{"logs", "pinger", "-f", "--tail", "1"}, where...), 3)
	}

	// isoagent exec: the command's output and exit code are exec's.
	for _, tt := range []struct {
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"pinger", "--", "cmd", "/c", "echo hello & exit 4"}, "", 4, "hello\n", ""},
		{[]string{"-i", "pinger", "--", "cmd"}, "echo one\necho two\nexit 2\n", 2, "one\ntwo\n", ""},
		{[]string{"pinger", "--", "powershell", "-c", "Write-Output out; Write-Error err"}, "", 0, "out\n", "err\n"},
		{[]string{"job", "--", "hostname"}, "", exitProblem, "", "job is not running"},
		{[]string{"nope", "--", "hostname"}, "", exitProblem, "", `"nope": no such container`},
		{[]string{"pinger"}, "", exitUsage, "", "want NAME -- COMMAND"},
	} {
		args := append([]string{"exec", "--sim-dir", simDir}, tt.args...)
		cmd := exec.Command(agentBinary(t), args...)
		cmd.Stdin = strings.NewReader(tt.stdin)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != tt.code || out.String() != tt.stdout || !strings.Contains(errOut.String(), tt.stderr) {
			t.Errorf("isoagent %s: exit %d, stdout %q, stderr %q; want %d, %q, %q", strings.Join(args, " "), code, out.String(), errOut.String(), tt.code, tt.stdout, tt.stderr)
		}
	}

	// isoagent restart: a run of its own, the one before it kept.
	if stdout, stderr, code := runAgentBinary(t, "restart", "pinger", "--addr", addr); code != exitOK || stdout != "restarted pinger\n" {
		t.Fatalf("restart pinger: exit %d, %q, %q", code, stdout, stderr)
	}
	if _, stderr, code := runAgentBinary(t, "restart", "job", "--addr", addr); code != exitProblem || !strings.Contains(stderr, "no running container") {
		t.Errorf("restart of the exited job: exit %d, %q; want %d, no running container", code, stderr, exitProblem)
	}
	stdout, _, code := runAgentBinary(t, "logs", "pinger", "--previous", "--sim-dir", simDir)
	if code != exitOK || !strings.HasPrefix(stdout, "\nPinging localhost") {
		t.Errorf("logs pinger --previous after a restart: exit %d:\n%s", code, stdout)
	}
	if c := statusOf(t, addr)["pinger"]; c.State != "running" || c.RestartCount != 1 {
		t.Errorf("pinger after a restart: %+v, want running, 1 restart", c)
	}
}

// follow runs isoagent with args and waits until it has printed n lines
// of ping's replies, then stops it.
func follow(t *testing.T, args []string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, agentBinary(t), args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cancel()
	sc := bufio.NewScanner(out)
	seen := 0
	for seen < n && sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Reply from") {
			seen++
		}
	}
	if seen < n {
		t.Errorf("isoagent %s printed %d replies within 20 s, want %d", strings.Join(args, " "), seen, n)
	}
}
