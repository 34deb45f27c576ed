package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/monitor"
)

// With --sim-monitors=false the folder-backed simulated host runs its
// containers without a monitor process each: no run is kept, and
// isoagent logs says the driver keeps no output, from the state folder
// and through the agent alike. With the default every run has its
// monitor and its log.
func TestSimMonitorsFlag(t *testing.T) {
	for _, tt := range []struct {
		monitors bool
		code     int
		stderr   string
	}{
		{true, exitOK, ""},
		{false, exitUsage, "the driver keeps no container output"},
	} {
		t.Run("monitors="+strconv.FormatBool(tt.monitors), func(t *testing.T) {
			dir, simDir, addr := t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
			testutil.WriteSpec(t, dir, "pinger.yaml", "pinger", "mcr.microsoft.com/windows/servercore:ltsc2022",
				`command: ['ping', '-t', 'localhost']`)
			startAgent(t, "--dir", dir, "--sim-dir", simDir, "--listen", addr, "--sim-monitors="+strconv.FormatBool(tt.monitors))
			if _, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s"); code != exitOK {
				t.Fatalf("wait exited %d: %s", code, stderr)
			}
			ids, err := os.ReadDir(monitor.Layout{Dir: simDir}.Root())
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if kept := len(ids) > 0; kept != tt.monitors {
				t.Errorf("runs kept for %d containers, want some: %v", len(ids), tt.monitors)
			}
			for _, where := range [][]string{{"--sim-dir", simDir}, {"--addr", addr}} {
				args := append([]string{"logs", "pinger"}, where...)
				_, stderr, code := runAgentBinary(t, args...)
				if code != tt.code || !strings.Contains(stderr, tt.stderr) {
					t.Errorf("isoagent %s: exit %d, stderr %q; want %d, %q", strings.Join(args, " "), code, stderr, tt.code, tt.stderr)
				}
			}
		})
	}
}
