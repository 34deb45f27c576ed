package reconcile

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/spec"
)

// slowStart delays the start of one container, as a slow or hung HCS call
// would.
type slowStart struct {
	*sim.Driver
	id    string
	delay time.Duration
}

func (s slowStart) Start(ctx context.Context, id string) error {
	if id == s.id {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Driver.Start(ctx, id)
}

func TestEngineRetriesErrorsWithBackoffPerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		specs := []*spec.Container{ctr("a", img2022), ctr("b", img2022), ctr("c", img2022), ctr("d", img2022)}
		// a's start hangs for a minute; b..d must not wait for it.
		aID := admitted(t, specs[0])[0].Config.ID
		r := start(t, drv, snapshot(specs...), func(o *EngineOptions) {
			o.Driver = slowStart{Driver: drv, id: aID, delay: time.Minute}
		})
		r.settle(5 * time.Second)
		cs := r.containers()
		for _, n := range []string{"b", "c", "d"} {
			if cs[n].State != driver.StateRunning {
				t.Errorf("%s held up by a slow key: %+v", n, cs[n])
			}
		}
		if cs["a"].State == driver.StateRunning {
			t.Error("a started despite the delay")
		}
		r.waitConverged()

		// Create fails three times: retried with growing waits, then done.
		if err := drv.InjectFault(sim.Fault{Op: driver.OpCreate, Count: 3, Err: driver.ErrUnavailable}); err != nil {
			t.Fatal(err)
		}
		r.rec.reset()
		began := time.Now()
		r.apply(snapshot(append(specs, ctr("e", img2022))...))
		r.waitConverged()
		r.requireRunning("e")
		r.rec.mu.Lock()
		failed, errs := r.rec.failed[ActionCreate], r.rec.results[OutcomeError]
		r.rec.mu.Unlock()
		if failed != 3 || errs != 3 {
			t.Errorf("failed creates %d, error results %d; want 3 and 3", failed, errs)
		}
		// Backoff 1s, 2s, 4s with jitter to half: at least 3.5 s in all.
		if took := time.Since(began); took < 3500*time.Millisecond || took > 8*time.Second {
			t.Errorf("converged after %s, want the backoff of three failures", took)
		}
		if st := r.status("e"); st.LastError != "" {
			t.Errorf("last error kept after success: %q", st.LastError)
		}
	})
}

func TestEnginePermanentErrorIsNotRetriedUntilResync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		if err := drv.InjectFault(sim.Fault{Op: driver.OpCreate, Count: 1, Err: driver.ErrVersionMismatch}); err != nil {
			t.Fatal(err)
		}
		r := start(t, drv, snapshot(ctr("a", img2022)))
		r.settle(testResync - 2*time.Second)
		r.rec.mu.Lock()
		failed := r.rec.failed[ActionCreate]
		r.rec.mu.Unlock()
		if failed != 1 {
			t.Errorf("%d failed creates before the resync, want 1 (terminal)", failed)
		}
		if st := r.status("a"); st.LastError == "" || r.eng.Converged() {
			t.Errorf("status %+v, converged %v", st, r.eng.Converged())
		}
		r.waitConverged() // the resync tries again, and the fault is used up
		r.requireRunning("a")
	})
}
