package hcs

import (
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/health"
)

// An exec health check runs through the driver's Execer against the fake
// HCS, as the engine's prober runs it: exit 0 passes; another code fails
// with what the command printed; a stopped container fails the probe.
func TestExecHealthProbe(t *testing.T) {
	h := newFakeHost(t)
	d := h.client(t, testOwner)
	cfg := config("probed", driver.Process)
	h.run(t, d, cfg)
	p := health.Prober{Exec: d}
	check := func(argv ...string) health.Check {
		return health.Check{Kind: health.KindExec, Command: argv, Interval: time.Second, Timeout: 30 * time.Second, Retries: 1}
	}
	if r := p.Probe(t.Context(), cfg.ID, check("cmd", "/c", "exit 0")); !r.OK || r.ExitCode != 0 {
		t.Errorf("probe cmd /c exit 0 = %+v, want a pass", r)
	}
	if r := p.Probe(t.Context(), cfg.ID, check("cmd", "/c", "echo not ready & exit 3")); r.OK || r.ExitCode != 3 || !strings.Contains(r.Output, "not ready") {
		t.Errorf("probe that prints and exits 3 = %+v, want a failure with exit code 3 and its output", r)
	}
	if err := d.Stop(t.Context(), cfg.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if r := p.Probe(t.Context(), cfg.ID, check("cmd", "/c", "exit 0")); r.OK {
		t.Errorf("probe of a stopped container = %+v, want a failure", r)
	}
}
