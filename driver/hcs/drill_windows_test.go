//go:build windows

package hcs

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/monitor"
)

// TestDrillAgentKilledWhileContainersPrintAndExit is issue 13's drill on
// the hcs driver under Wine: the agent (isoagent.exe run --driver hcs,
// each run's init process held by its monitor) is killed
// (TerminateProcess) while its containers print; meanwhile one finishes
// on its own and two are killed behind its back. The next agent reports
// every exit code as it was, acts on them by restart policy, and the logs
// hold every line printed, once.
func TestDrillAgentKilledWhileContainersPrintAndExit(t *testing.T) {
	bin := monitorCommand(t)[0]
	h := newFakeHost(t)
	h.stopMonitorsAtEnd(t)
	v, _ := windowsVersion()
	h.putImage(t, testImage{
		Ref: testImageRef, OSVersion: v.String(),
		Cmd:   []string{`C:\ServiceMonitor.exe`, "w3svc"},
		Files: []string{`C:\ServiceMonitor.exe`, `C:\Windows\System32\PING.EXE`},
	})
	specs, addr := t.TempDir(), testutil.FreeAddr(t)
	testutil.WriteSpec(t, specs, "counter.yaml", "counter", testImageRef, `command: ['ping', '-n', '6', 'localhost']`, "restartPolicy: on-failure")
	testutil.WriteSpec(t, specs, "victim.yaml", "victim", testImageRef, `command: ['ping', '-t', 'localhost']`, "restartPolicy: never")
	testutil.WriteSpec(t, specs, "crasher.yaml", "crasher", testImageRef, `command: ['ping', '-t', 'localhost']`, "restartPolicy: on-failure")
	args := []string{"run", "--driver", "hcs", "--dir", specs, "--hcs-state-dir", h.agent, "--docker-root", h.docker,
		"--listen", addr, "--log-format", "json"}
	agentDo := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("isoagent %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	first := testutil.Start(t, "isoagent-first", exec.Command(bin, args...))
	agentDo("wait", "--addr", addr, "--timeout", "90s")
	if err := first.Stop(); err != nil { // TerminateProcess, on Windows
		t.Fatal(err)
	}
	ids := map[string]string{}
	cs, err := h.model.Containers(testOwner)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		ids[c.Name] = c.ID
	}
	// The drill needs the counter to finish while no agent runs: the
	// first agent must not have recorded its exit.
	if rec, err := (records{dir: filepath.Join(h.agent, "containers")}).get(ids["counter"]); err != nil || rec.Exited {
		t.Fatalf("the counter's record when the first agent was killed: %+v, %v; want it running (make it print longer)", rec, err)
	}
	h.Kill(t, ids["victim"], 7)
	h.Kill(t, ids["crasher"], 5)
	runs := monitor.Layout{Dir: h.agent}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, k := range []struct {
		name string
		code int
	}{{"counter", 0}, {"victim", 7}, {"crasher", 5}} {
		m, err := monitor.Open(runs.RunDir(ids[k.name], 1))
		if err != nil {
			t.Fatal(err)
		}
		if x, err := m.Wait(ctx); err != nil || x.Code != k.code {
			t.Errorf("the monitor of %s recorded %+v, %v; want exit %d", k.name, x, err, k.code)
		}
	}

	testutil.Start(t, "isoagent-second", exec.Command(bin, args...))
	agentDo("wait", "--addr", addr, "--timeout", "90s")
	var st struct {
		Containers []struct {
			Name         string
			State        string
			ExitCode     *int
			RestartCount int
		}
	}
	if err := json.Unmarshal([]byte(agentDo("status", "--addr", addr, "--json")), &st); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range st.Containers {
		code := -1
		if c.ExitCode != nil {
			code = *c.ExitCode
		}
		got[c.Name] = strings.Join([]string{c.State, strconv.Itoa(code), strconv.Itoa(c.RestartCount)}, " ")
	}
	for name, want := range map[string]string{
		"counter": "exited 0 0",   // on-failure leaves a success
		"victim":  "exited 7 0",   // never leaves a failure
		"crasher": "running -1 1", // on-failure restarts a failure
	} {
		if got[name] != want {
			t.Errorf("%s is %q (state, exit code, restarts), want %q", name, got[name], want)
		}
	}

	// Every line the counter printed, once, though no agent ran when it
	// finished.
	lines, err := monitor.Tail(runs.RunDir(ids["counter"], 1), 100)
	want := append(append([]string{"", "Pinging localhost [::1] with 32 bytes of data:"}, slices.Repeat([]string{"Reply from ::1: time<1ms"}, 6)...),
		"", "Ping statistics for ::1:", "    Packets: Sent = 6, Received = 6, Lost = 0 (0% loss),")
	if err != nil || !slices.Equal(lines, want) {
		t.Errorf("the counter's log = %q, %v; want %q", lines, err, want)
	}
	for _, name := range []string{"victim", "crasher"} {
		lines, err := monitor.Tail(runs.RunDir(ids[name], 1), 1000)
		if err != nil || len(lines) < 3 || lines[1] != want[1] || slices.Index(lines[2:], want[1]) >= 0 {
			t.Errorf("the log of %s's first run = %q, %v; want the header once, then its replies", name, lines, err)
		}
	}
	if _, err := os.Stat(filepath.Join(runs.RunDir(ids["crasher"], 2), monitor.StartedFile)); err != nil {
		t.Errorf("the crasher's restart has no run of its own: %v", err)
	}
}
