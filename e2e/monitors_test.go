//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/isoagent/isoagent/monitor"
)

// stopping remembers the simulated hosts each test has stopMonitorsOf
// register, so that each is stopped once.
var stopping sync.Map

// stopMonitorsOf ends, when the test ends and before its folders go, the
// containers of the simulated host an isoagent command line names with
// --sim-dir, and waits for their monitor processes: those outlive the
// agent by design, and one still writing a container's log into the
// folder while the test removes it makes the removal fail. Call it
// before the agent is started, so that the agent is stopped first.
func stopMonitorsOf(t *testing.T, bin string, args []string) {
	for i, a := range args {
		if a != "--sim-dir" || i+1 >= len(args) {
			continue
		}
		simDir := args[i+1]
		if _, seen := stopping.LoadOrStore(t.Name()+"\x00"+simDir, true); seen {
			continue
		}
		t.Cleanup(func() {
			if out, err := exec.Command(bin, "sim", "--sim-dir", simDir, "reset").CombinedOutput(); err != nil {
				t.Logf("isoagent sim reset: %v\n%s", err, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			l := monitor.Layout{Dir: simDir}
			ids, _ := os.ReadDir(l.Root())
			for _, id := range ids {
				runs, _ := l.Runs(id.Name())
				for _, r := range runs {
					if h, err := monitor.Open(r); err == nil {
						if _, err := h.Wait(ctx); err != nil && ctx.Err() != nil {
							t.Errorf("the monitor of %s still runs 30s after its container was removed", r)
						}
					}
				}
			}
		})
	}
}
