//go:build windows

package hcs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/monitor"
)

// monitorCommand is the command of a run's monitor: isoagent.exe, which
// scripts/hcs-test builds and names in ISOAGENT_E2E_BINARY, and its
// monitor subcommand. It skips t without it.
func monitorCommand(t *testing.T) []string {
	t.Helper()
	requireFake(t)
	bin := os.Getenv("ISOAGENT_E2E_BINARY")
	if bin == "" {
		t.Skip("ISOAGENT_E2E_BINARY is not set (scripts/hcs-test sets it)")
	}
	return []string{bin, "monitor"}
}

// stopMonitorsAtEnd ends, when t ends and before its folders go, the runs
// of the host and waits for their monitors, which hold their run's files
// open: a reboot ends every init process.
func (h *fakeHost) stopMonitorsAtEnd(t *testing.T) {
	t.Cleanup(func() {
		h.drill(t, "reboot")
		h.waitMonitors(t)
	})
}

// waitMonitors waits until no monitor of the host's runs runs.
func (h *fakeHost) waitMonitors(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dirs, _ := filepath.Glob(filepath.Join(h.agent, "runs", "*", "*"))
	for _, dir := range dirs {
		m, err := monitor.Open(dir)
		if err != nil {
			continue
		}
		if _, err := m.Wait(ctx); ctx.Err() != nil {
			t.Errorf("the monitor of %s still runs: %v", dir, err)
		}
	}
}

// TestExitsWhileNoAgentRunsAreKept pins issue 13's point 5 on the hcs
// driver: a run's monitor holds the init process, so an exit while no
// agent runs (the fake, like HCS, cannot open an exited process again) is
// reported to the next agent with its real code and time, and the output
// printed meanwhile is in the run's log.
func TestExitsWhileNoAgentRunsAreKept(t *testing.T) {
	mon := monitorCommand(t)
	h := newFakeHost(t)
	h.stopMonitorsAtEnd(t)
	tests := []struct {
		id      string
		command []string
		kill    int // behind the agent's back with this code; 0 for none
		code    int
		last    string // the last line of the log
	}{
		{"finishes", []string{"ping", "-n", "3", "localhost"}, 0, 0, "    Packets: Sent = 3, Received = 3, Lost = 0 (0% loss),"},
		{"killed", []string{"ping", "-t", "localhost"}, 42, 42, "Reply from ::1: time<1ms"},
	}
	first := h.clientWith(t, Options{Monitor: mon})
	for _, tt := range tests {
		cfg := config(tt.id, driver.Process)
		cfg.Command = tt.command
		h.run(t, first, cfg)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if tt.kill != 0 {
			h.Kill(t, tt.id, tt.kill)
		}
	}
	// Both runs end while no driver holds them; their monitors record it.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, tt := range tests {
		runs, err := first.Runs(tt.id)
		if err != nil || len(runs) != 1 {
			t.Fatalf("Runs(%s) = %v, %v; want one", tt.id, runs, err)
		}
		m, err := monitor.Open(runs[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Wait(ctx); err != nil {
			t.Fatalf("the monitor of %s: %v", tt.id, err)
		}
	}

	second := h.clientWith(t, Options{Monitor: mon})
	for _, tt := range tests {
		c := waitState(t, second, tt.id, driver.StateExited)
		runs, _ := second.Runs(tt.id)
		x, err := monitor.ReadExit(runs[0])
		if err != nil {
			t.Fatal(err)
		}
		if c.ExitCode != tt.code || !c.FinishedAt.Equal(x.At) {
			t.Errorf("%s exited with %d at %s, want %d at %s (the monitor's record)", tt.id, c.ExitCode, c.FinishedAt, tt.code, x.At)
		}
		lines, err := monitor.Tail(runs[0], 20)
		if err != nil || len(lines) < 3 || lines[len(lines)-1] != tt.last {
			t.Errorf("the log of %s ends %q, %v; want at least 3 lines, the last %q", tt.id, lines, err, tt.last)
		}
		// Its next run is a run of its own; the exit recorded stays.
		if err := second.Start(t.Context(), tt.id); err != nil {
			t.Fatal(err)
		}
		if runs, _ := second.Runs(tt.id); len(runs) != 2 {
			t.Errorf("Runs(%s) after a restart = %v, want two", tt.id, runs)
		}
	}
}
