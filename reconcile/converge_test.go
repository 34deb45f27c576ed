package reconcile

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/spec"
)

// trackerRig drives a tracker by hand: settled answers from a set the test
// controls, and convergences are counted.
type trackerRig struct {
	t         *tracker
	pending   map[string]bool // names with something left to do
	keys      []string
	converged []time.Duration
}

func newTrackerRig(keys ...string) *trackerRig {
	r := &trackerRig{pending: map[string]bool{}, keys: keys}
	r.t = newTracker(func(n string) bool { return !r.pending[n] }, func() []string { return r.keys },
		func(d time.Duration) { r.converged = append(r.converged, d) })
	return r
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// A name reconciled while the first admission hands names out, before the
// first full pass begins, counts as passed: the engine becomes ready and
// converges without reconciling it again.
func TestTrackerCountsNamesReconciledBeforeTheFirstPass(t *testing.T) {
	r := newTrackerRig("a", "b")
	tr := r.t
	tr.desire(1)
	tr.relistDone()
	tr.unsettle([]string{"a"})
	tr.reconciled("a", Result{}, nil) // handed out and done before admitted
	tr.admitted(1, []string{"b"}, []string{"a"}, time.Now())
	tr.reconciled("b", Result{}, nil)
	if !tr.isReady() || !tr.converged() {
		t.Errorf("ready %v, converged %v; want both, a having been reconciled early", tr.isReady(), tr.converged())
	}
}

// TestTrackerConvergence walks a tracker through a start and a change and
// checks Ready, Converged, the converged channel and the reports at each
// step.
func TestTrackerConvergence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTrackerRig("a", "b")
		tr := r.t
		steps := []struct {
			what             string
			do               func()
			ready, converged bool
			reports          int
		}{
			{"a snapshot handed in", func() { tr.desire(1) }, false, false, 0},
			{"admitted before the host is listed", func() { tr.admitted(1, []string{"a", "b"}, nil, time.Now()) }, false, false, 0},
			{"listed: the first pass begins", tr.relistDone, false, false, 0},
			{"a reconciled", func() { tr.reconciled("a", Result{}, nil) }, false, false, 0},
			{"b fails", func() { tr.reconciled("b", Result{}, errors.New("boom")) }, true, false, 0},
			{"b must wait", func() { tr.reconciled("b", Result{RequeueAfter: time.Second}, nil) }, true, false, 0},
			{"b done but with work left", func() {
				r.pending["b"] = true
				tr.reconciled("b", Result{}, nil)
			}, true, false, 0},
			{"b settles", func() {
				r.pending["b"] = false
				tr.reconciled("b", Result{}, nil)
			}, true, true, 1},
			{"a relist finds a changed", func() { tr.unsettle([]string{"a"}) }, true, false, 1},
			{"a settles: no new change to report", func() { tr.reconciled("a", Result{}, nil) }, true, true, 1},
			{"a new generation", func() { tr.desire(2) }, true, false, 1},
			{"admitted, changing nothing", func() { tr.admitted(2, nil, nil, time.Now()) }, true, true, 1},
			{"a third, changing b", func() {
				tr.desire(3)
				tr.admitted(3, []string{"b"}, nil, time.Now().Add(-time.Second))
			}, true, false, 1},
			{"b settles: the change is reported", func() {
				time.Sleep(time.Second)
				tr.reconciled("b", Result{}, nil)
			}, true, true, 2},
			// A name handed to the workers while it was admitted may
			// settle before its generation is recorded: it stays settled.
			{"a handed out, settled, then its generation admitted", func() {
				tr.desire(4)
				tr.unsettle([]string{"a"})
				tr.reconciled("a", Result{}, nil)
				tr.admitted(4, nil, []string{"a"}, time.Now())
			}, true, true, 3},
		}
		for _, s := range steps {
			s.do()
			if got := tr.isReady(); got != s.ready {
				t.Errorf("%s: ready %v, want %v", s.what, got, s.ready)
			}
			if got := tr.converged(); got != s.converged {
				t.Errorf("%s: converged %v, want %v", s.what, got, s.converged)
			}
			if got := isClosed(tr.convergedC()); got != s.converged {
				t.Errorf("%s: converged channel closed %v, want %v", s.what, got, s.converged)
			}
			if len(r.converged) != s.reports {
				t.Errorf("%s: %d convergences reported, want %d", s.what, len(r.converged), s.reports)
			}
		}
		if len(r.converged) == 3 && r.converged[1] != 2*time.Second {
			t.Errorf("the last convergence took %s, want 2s from when its change was seen", r.converged[1])
		}
		if v := tr.view(); v.lastErr["b"] != "" || !v.lastOK.Equal(time.Now()) {
			t.Errorf("view %+v: the error outlived the success, or no success time", v)
		}
	})
}

// WaitConverged confirms with a fresh relist: a container that exits at
// once runs in the engine's own cache after its start, but the status that
// WaitConverged leaves behind shows the driver's view.
func TestWaitConvergedConfirmsWithTheDriver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		once := ctr("once", img2022, func(s *spec.Spec) {
			s.Command = []string{"cmd", "/c", "exit", "3"}
			s.RestartPolicy = spec.RestartNever
		})
		r := start(t, openSim(t, ""), snapshot(once, ctr("web", img2022)), func(o *EngineOptions) { o.RelistInterval = time.Hour })
		r.waitConverged()
		st := r.status("once")
		if st.State != StateExited || st.ExitCode == nil || *st.ExitCode != 3 {
			t.Errorf("after WaitConverged: %s, exit code %v; want exited with 3, as the driver says", st.State, st.ExitCode)
		}
		if web := r.status("web"); web.InitPID == 0 {
			t.Errorf("after WaitConverged the status lacks the driver's init PID: %+v", web)
		}
	})
}

// WaitConverged blocks while the engine cannot converge and returns the
// context's error at its end; it returns as soon as the engine converges
// once the host lets it.
func TestWaitConvergedBlocksUntilConverged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		if err := drv.InjectFault(sim.Fault{Op: driver.OpCreate, Count: 3, Err: driver.ErrUnavailable}); err != nil {
			t.Fatal(err)
		}
		r := start(t, drv, snapshot(ctr("a", img2022)), func(o *EngineOptions) { o.BackoffBase = 10 * time.Second })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.eng.WaitConverged(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitConverged while create fails = %v, want the deadline", err)
		}
		began := time.Now()
		r.waitConverged()
		// Three failures back off 10 s, 20 s and 40 s, each with jitter
		// down to half: the engine converges at once after the last.
		if took := time.Since(began); took < 30*time.Second-5*time.Second || took > 70*time.Second {
			t.Errorf("converged %s later", took)
		}
		r.requireRunning("a")
	})
}
