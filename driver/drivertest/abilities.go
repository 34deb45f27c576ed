package drivertest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/monitor"
)

// OutputHarness is a Harness whose hosts keep their containers' output
// (a monitor per run): the suite then checks the logs and exit records.
type OutputHarness interface {
	Harness
	KeepsOutput() bool
}

// abilityTests are the tests of the optional abilities (driver.Watcher,
// driver.Execer, driver.RunKeeper, driver.ConfigReader,
// driver.Inspector); a driver without one skips its test.
func abilityTests(h Harness) []struct {
	name string
	fn   func(*testing.T, *env)
} {
	keeps := false
	if oh, ok := h.(OutputHarness); ok {
		keeps = oh.KeepsOutput()
	}
	return []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"ExitsAreReportedAsTheyHappen", testWatch},
		{"RestartCountOutlivesTheClient", testRestartCount},
		{"ExecRunsInARunningContainer", testExec},
		{"OutputAndExitAreKept", func(t *testing.T, e *env) { testOutput(t, e, keeps) }},
		{"ConfigIsKept", testConfigKept},
		{"InspectShowsOneContainerAsListDoes", testInspect},
	}
}

// watch runs d's Watch until the test ends and returns the exits it
// reports.
func watch(t *testing.T, e *env, d driver.Driver) <-chan driver.Container {
	t.Helper()
	w, ok := d.(driver.Watcher)
	if !ok {
		t.Skip("the driver reports no exits (no driver.Watcher)")
	}
	ctx, cancel := context.WithCancel(e.ctx)
	ch := make(chan driver.Container, 64)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Watch(ctx, func(c driver.Container) { ch <- c }); err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return ch
}

// nextExit waits for the exit of container id and returns it; exits of
// other containers are left out.
func nextExit(t *testing.T, ch <-chan driver.Container, id string) driver.Container {
	t.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for {
		select {
		case c := <-ch:
			if c.ID == id {
				return c
			}
		case <-deadline.C:
			t.Fatalf("no exit of %s reported within %s", id, waitFor)
		}
	}
}

func testWatch(t *testing.T, e *env) {
	exits := watch(t, e, e.d)
	quick := e.config("quick", driver.Process, "cmd", "/c", "exit 3")
	e.run(t, quick)
	if c := nextExit(t, exits, quick.ID); c.State != driver.StateExited || c.ExitCode != 3 || c.FinishedAt.IsZero() || c.Name != quick.Name {
		t.Errorf("reported %+v, want %s exited with 3", c, quick.ID)
	}
	long := e.config("long", driver.HyperV)
	first := e.run(t, long)
	e.host.Kill(t, long.ID, 137)
	c := nextExit(t, exits, long.ID)
	if c.ExitCode != 137 || !c.StartedAt.Equal(first.StartedAt) {
		t.Errorf("reported %+v, want the first run killed with 137", c)
	}
	// The next run is reported as its own, and a stop is an exit too.
	e.start(t, long.ID)
	second := e.get(t, e.d, long.ID)
	if err := e.d.Stop(e.ctx, long.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if c := nextExit(t, exits, long.ID); !c.StartedAt.Equal(second.StartedAt) {
		t.Errorf("after a stop reported %+v, want the second run (started %s)", c, second.StartedAt)
	}
}

func testRestartCount(t *testing.T, e *env) {
	cfg := e.config("counted", driver.Process)
	e.run(t, cfg)
	for range 2 {
		e.host.Kill(t, cfg.ID, 1)
		e.waitExited(t, cfg.ID)
		e.start(t, cfg.ID)
	}
	if c := e.get(t, e.host.Client(t, Owner), cfg.ID); c.RestartCount != 2 {
		t.Errorf("a new client sees restart count %d, want 2", c.RestartCount)
	}
}

func testExec(t *testing.T, e *env) {
	x, ok := e.d.(driver.Execer)
	if !ok {
		t.Skip("the driver runs no exec processes (no driver.Execer)")
	}
	cfg := e.config("exec-target", driver.Process)
	e.run(t, cfg)
	tests := []struct {
		command []string
		stdin   string
		code    int
		stdout  string
		stderr  string
	}{
		{[]string{"cmd", "/c", "echo hello"}, "", 0, "hello\n", ""},
		{[]string{"cmd", "/c", "echo failing & exit 4"}, "", 4, "failing\n", ""},
		{[]string{"powershell", "-c", "Write-Output out; Write-Error err"}, "", 0, "out\n", "err\n"},
		{[]string{"cmd"}, "echo one\necho two\nexit 2\n", 2, "one\ntwo\n", ""},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		p := driver.ExecProcess{Command: tt.command, Stdout: &out, Stderr: &errOut}
		if tt.stdin != "" {
			p.Stdin = strings.NewReader(tt.stdin)
		}
		code, err := x.Exec(e.ctx, cfg.ID, p)
		if err != nil || code != tt.code || out.String() != tt.stdout || errOut.String() != tt.stderr {
			t.Errorf("Exec %q = %d, %v, stdout %q, stderr %q; want %d, %q, %q", tt.command, code, err, out.String(), errOut.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
	// A process that runs until stopped ends with its context.
	ctx, cancel := context.WithTimeout(e.ctx, 100*time.Millisecond)
	_, err := x.Exec(ctx, cfg.ID, driver.ExecProcess{Command: []string{"ping", "-t", "localhost"}})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Exec of ping -t ended by its context = %v, want the context's error", err)
	}
	if err := e.d.Stop(e.ctx, cfg.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	_, err = x.Exec(e.ctx, cfg.ID, driver.ExecProcess{Command: []string{"cmd", "/c", "echo x"}})
	wantErr(t, "Exec in an exited container", err, driver.ErrInvalidState)
	_, err = x.Exec(e.ctx, "no-such-container", driver.ExecProcess{Command: []string{"cmd", "/c", "echo x"}})
	wantErr(t, "Exec in a container that does not exist", err, driver.ErrNotFound)
}

func testOutput(t *testing.T, e *env, keeps bool) {
	rk, ok := e.d.(driver.RunKeeper)
	if !ok || !keeps {
		t.Skip("the host keeps no output (no monitors)")
	}
	cfg := e.config("printer", driver.Process, "cmd", "/c", "echo hello & echo world & exit 2")
	e.run(t, cfg)
	e.waitExited(t, cfg.ID)
	// Once the exit is listed, the run's monitor may still be writing;
	// Stop returns once it has recorded the exit.
	if err := e.d.Stop(e.ctx, cfg.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	runs, err := rk.Runs(cfg.ID)
	if err != nil || len(runs) != 1 {
		t.Fatalf("Runs = %v, %v; want one run", runs, err)
	}
	x, err := monitor.ReadExit(runs[0])
	if err != nil || x.Code != 2 {
		t.Errorf("recorded exit %+v, %v; want 2", x, err)
	}
	lines, err := monitor.Tail(runs[0], 20)
	if err != nil || strings.Join(lines, "|") != "hello|world" {
		t.Errorf("the run's output = %q, %v; want hello, world", lines, err)
	}
	// A second run is kept apart; the first stays as the previous one.
	e.start(t, cfg.ID)
	e.waitExited(t, cfg.ID)
	if err := e.d.Stop(e.ctx, cfg.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if runs, _ := rk.Runs(cfg.ID); len(runs) != 2 {
		t.Errorf("Runs after a second run = %v, want two", runs)
	}
	if err := e.d.Remove(e.ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	if runs, _ := rk.Runs(cfg.ID); len(runs) != 0 {
		t.Errorf("Runs after Remove = %v, want none", runs)
	}
}
