package reconcile

import (
	"testing"
	"testing/synctest"
	"time"
)

// A resync reconciles what changed or is not settled, not every name: on
// a converged host where nothing changed it plans nothing, while drift
// (TestEngineResyncRestoresDrift) and terminal errors
// (TestEnginePermanentErrorIsNotRetriedUntilResync) are still put right.
func TestEngineResyncLeavesSettledNamesAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, openSim(t, ""), snapshot(threeSpecs()...))
		r.waitConverged()
		r.settle(2 * time.Second)
		r.rec.reset()
		r.settle(2*testResync + time.Second) // two resyncs
		r.rec.mu.Lock()
		reconciled := 0
		for _, n := range r.rec.results {
			reconciled += n
		}
		r.rec.mu.Unlock()
		if reconciled != 0 {
			t.Errorf("%d reconciles over two resyncs of a converged host, want 0", reconciled)
		}
		if got := r.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
			t.Errorf("actions %s, want none", got)
		}
		if !r.eng.Converged() {
			t.Error("not converged after the resyncs")
		}
	})
}
