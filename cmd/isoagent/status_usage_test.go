package main

import (
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/reconcile"
)

func TestStatusShowsUsage(t *testing.T) {
	pct := 12.5
	web := reconcile.ContainerStatus{Name: "web", State: reconcile.StateRunning, ContainerID: "c1", Usage: &reconcile.Usage{
		Stats: driver.Stats{
			CPU:     driver.CPUStats{Total: 90 * time.Second},
			Memory:  driver.MemoryStats{CommitBytes: 300 << 20, CommitPeakBytes: 320 << 20, PrivateWorkingSetBytes: 128 << 20},
			Storage: driver.StorageStats{ReadBytes: 2 << 30, WriteBytes: 5 << 20},
			Network: []driver.NetworkStats{{ReceiveBytes: 1 << 10, TransmitBytes: 3 << 20}},
			Limits:  driver.Resources{MemoryMB: 512},
		},
		CPUPercent: &pct,
	}}
	first := reconcile.ContainerStatus{Name: "api", State: reconcile.StateRunning, ContainerID: "c2", Usage: &reconcile.Usage{
		Stats: driver.Stats{Memory: driver.MemoryStats{PrivateWorkingSetBytes: 900}},
	}}
	refused := reconcile.ContainerStatus{Name: "old", State: reconcile.StateRejected}
	tests := []struct {
		name string
		st   reconcile.Status
		wide bool
		want []string // parts of lines in order, runs of spaces as one
		not  []string
	}{
		{
			name: "CPU and memory against the limit",
			st:   reconcile.Status{Containers: []reconcile.ContainerStatus{web, first, refused}},
			// The table fits 120 columns: no container ID, notes under their rows.
			want: []string{"HOST VIEW CPU MEMORY", "web running - - 0 - - - 12.5% 128.0MiB / 512.0MiB (25%)", "api running - - 0 - - - - 900B", "old rejected - - 0 - - - - -"},
			not:  []string{"CPU TIME"},
		},
		{
			name: "wide: CPU time, commit, storage, network",
			st:   reconcile.Status{Containers: []reconcile.ContainerStatus{web, first}},
			wide: true,
			want: []string{"MEMORY CPU TIME COMMIT (PEAK) DISK READ/WRITE NET IN/OUT PORTS NOTE", "(25%) 1m30s 300.0MiB (320.0MiB) 2.0GiB / 5.0MiB 1.0KiB / 3.0MiB", "900B 0s 0B (0B) 0B / 0B -"},
		},
		{
			name: "no usage at all: no columns",
			st:   reconcile.Status{Containers: []reconcile.ContainerStatus{refused}},
			not:  []string{"CPU", "MEMORY"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			printStatus(&b, tt.st, time.Now(), tt.wide)
			// Column widths are tabwriter's business: compare words.
			var lines []string
			for l := range strings.Lines(b.String()) {
				lines = append(lines, strings.Join(strings.Fields(l), " "))
			}
			out := strings.Join(lines, "\n")
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("status lacks %q after what came before:\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("status has %q:\n%s", n, out)
				}
			}
		})
	}
}

// Against a real agent process on the sim: status shows what the running
// container uses, --wide more, --json the numbers.
func TestStatusOfARealAgentShowsUsage(t *testing.T) {
	dir, simDir, addr := t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022")
	startAgent(t, "--dir", dir, "--sim-dir", simDir, "--listen", addr, "--stats-interval", "1s")
	if stdout, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s"); code != exitOK {
		t.Fatalf("wait exited %d: %s%s", code, stdout, stderr)
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"status"}, []string{"CPU", "MEMORY", "MiB"}},
		{[]string{"status", "--wide"}, []string{"CPU TIME", "DISK READ/WRITE", "NET IN/OUT"}},
		{[]string{"status", "--json"}, []string{`"usage":`, `"privateWorkingSetBytes":`}},
	} {
		stdout, stderr, code := runAgentBinary(t, append(tt.args, "--addr", addr)...)
		if code != exitOK {
			t.Fatalf("%v exited %d: %s", tt.args, code, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%v lacks %q:\n%s", tt.args, w, stdout)
			}
		}
	}
}
