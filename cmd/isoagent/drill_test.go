package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/monitor"
)

// runDir returns the folder of run n of the container of spec name in
// the simulated host's state folder.
func runDir(t *testing.T, simDir, name string, n int) string {
	t.Helper()
	l := monitor.Layout{Dir: simDir}
	ids, err := os.ReadDir(l.Root())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if strings.HasPrefix(id.Name(), name+"-") {
			return l.RunDir(id.Name(), n)
		}
	}
	t.Fatalf("no runs of %s in %s", name, l.Root())
	return ""
}

type drillStatus struct {
	Name         string
	State        string
	ExitCode     *int
	RestartCount int
	LastExit     *struct {
		Code      int
		Reason    string
		LastLines []string
	}
}

func statusOf(t *testing.T, addr string) map[string]drillStatus {
	t.Helper()
	stdout, stderr, code := runAgentBinary(t, "status", "--addr", addr, "--json")
	if code != exitOK {
		t.Fatalf("status: %s", stderr)
	}
	var st struct{ Containers []drillStatus }
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatal(err)
	}
	m := map[string]drillStatus{}
	for _, c := range st.Containers {
		m[c.Name] = c
	}
	return m
}

// The drill of issue 13: the agent is killed (SIGKILL) while containers
// print; meanwhile one exits by itself and two are killed. A new agent
// reports each with its real exit code, restarts only what its policy
// restarts, and every line printed meanwhile is in the logs once.
func TestDrillAgentKilledWhileContainersPrintAndExit(t *testing.T) {
	dir, simDir, addr := t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
	stopMonitors(t, simDir)
	img := "mcr.microsoft.com/windows/servercore:ltsc2022"
	testutil.WriteSpec(t, dir, "counter.yaml", "counter", img, `command: ['ping', '-n', '4', 'localhost']`, "restartPolicy: on-failure")
	testutil.WriteSpec(t, dir, "victim.yaml", "victim", img, `command: ['ping', '-t', 'localhost']`, "restartPolicy: never")
	testutil.WriteSpec(t, dir, "crasher.yaml", "crasher", img, `command: ['ping', '-t', 'localhost']`, "restartPolicy: on-failure")
	args := []string{"run", "--log-format", "json", "--dir", dir, "--sim-dir", simDir, "--listen", addr}

	first := exec.Command(agentBinary(t), args...)
	p := testutil.Start(t, "isoagent-first", first)
	if _, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s"); code != exitOK {
		t.Fatalf("wait: %s", stderr)
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.Stop()

	for _, k := range []struct{ name, code string }{{"victim", "7"}, {"crasher", "5"}} {
		if _, stderr, code := runAgentBinary(t, "sim", "--sim-dir", simDir, "kill", k.name, "--code", k.code); code != exitOK {
			t.Fatalf("sim kill %s: %s", k.name, stderr)
		}
	}
	// The counter ends by itself after 4 s, no agent running.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := monitor.Open(runDir(t, simDir, "counter", 1))
	if err != nil {
		t.Fatal(err)
	}
	if x, err := h.Wait(ctx); err != nil || x.Code != 0 {
		t.Fatalf("the counter's monitor recorded %+v, %v; want exit 0", x, err)
	}
	for _, k := range []struct {
		name string
		code int
	}{{"victim", 7}, {"crasher", 5}} {
		h, err := monitor.Open(runDir(t, simDir, k.name, 1))
		if err != nil {
			t.Fatal(err)
		}
		if x, err := h.Wait(ctx); err != nil || x.Code != k.code {
			t.Errorf("the monitor of %s recorded %+v, %v; want exit %d", k.name, x, err, k.code)
		}
	}

	testutil.StartAgent(t, agentBinary(t), args...)
	if _, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s"); code != exitOK {
		t.Fatalf("wait after the restart: %s", stderr)
	}
	st := statusOf(t, addr)
	for _, want := range []struct {
		name     string
		state    string
		code     int
		restarts int
	}{
		{"counter", "exited", 0, 0}, // on-failure leaves a success
		{"victim", "exited", 7, 0},  // never leaves a failure
		{"crasher", "running", -1, 1},
	} {
		c := st[want.name]
		if c.State != want.state || c.RestartCount != want.restarts || want.code >= 0 && (c.ExitCode == nil || *c.ExitCode != want.code) {
			t.Errorf("%s after the agent came back: %+v, want %s (exit %d), %d restarts", want.name, c, want.state, want.code, want.restarts)
		}
	}
	// The crash report of the victim: its code and its last lines.
	if x := st["victim"].LastExit; x == nil || x.Code != 7 || x.Reason != "failed" || len(x.LastLines) == 0 || x.LastLines[len(x.LastLines)-1] != "Reply from ::1: time<1ms" {
		t.Errorf("last exit of the victim: %+v, want failed with 7 and its last lines", x)
	}
	// Every line the counter printed, with no agent, is in its log once.
	stdout, _, _ := runAgentBinary(t, "logs", "counter", "--sim-dir", simDir)
	want := "\nPinging localhost [::1] with 32 bytes of data:\n" + strings.Repeat("Reply from ::1: time<1ms\n", 4) +
		"\nPing statistics for ::1:\n    Packets: Sent = 4, Received = 4, Lost = 0 (0% loss),\n"
	if stdout != want {
		t.Errorf("logs counter:\n%s\nwant:\n%s", stdout, want)
	}
	// The crasher's first run is its previous one now.
	stdout, _, code := runAgentBinary(t, "logs", "crasher", "--previous", "--sim-dir", simDir)
	if code != exitOK || !strings.HasPrefix(stdout, "\nPinging localhost") {
		t.Errorf("logs crasher --previous: exit %d:\n%s", code, stdout)
	}
}
