package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// A change of one spec costs the health hook one look, not one per spec:
// after a relist that found nothing new and a snapshot in which one spec
// changed, its sweep allocates as much over 2,000 running containers as
// over 10. (It looked at every name after every change and every relist,
// formatting a key for each: at 10,000 specs most of what a change cost
// the agent.)
func TestHealthSweepCostsWhatChanged(t *testing.T) {
	perChange := map[int]uint64{}
	for _, n := range []int{10, 2000} {
		drv := openSim(t, "")
		ctx := context.Background()
		e := NewEngine(EngineOptions{Driver: drv, Workers: 1, Resync: testResync, Logger: slog.New(slog.DiscardHandler)})
		h, err := drv.Host(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.host.Store(&h)
		specs := make([]*spec.Container, n)
		for i := range specs {
			specs[i] = ctr(fmt.Sprintf("web-%04d", i), img2022)
		}
		e.Update(snapshot(specs...))
		e.apply(ctx, false)
		ds := e.desired.Load()
		for name, d := range ds.decisions {
			if !d.Admitted() {
				t.Fatalf("%s rejected: %+v", name, d.Rejection)
			}
			e.cache.Write(e.cache.Begin(), name, replaceWith([]driver.Container{{ID: d.Config.ID, Name: name, Hash: d.Config.Hash, State: driver.StateRunning, StartedAt: snapshot().LoadedAt}}))
		}
		var wg sync.WaitGroup
		hctx, cancel := context.WithCancel(ctx)
		e.health.sweep(hctx, &wg) // a loop for every container
		wg.Wait()                 // each has found it has no check
		if got := len(e.health.byName); got != n {
			t.Fatalf("%d probe loops for %d running containers", got, n)
		}

		// A relist writes every name again, as it was.
		for _, name := range e.cache.Names() {
			e.cache.Write(e.cache.Begin(), name, replaceWith(e.cache.Get(name)))
		}
		specs[0] = ctr("web-0000", img2022, func(s *spec.Spec) { s.RestartPolicy = spec.RestartNever })
		e.Update(snapshot(specs...))
		e.apply(ctx, false)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e.health.sweep(hctx, &wg)
		runtime.ReadMemStats(&after)
		perChange[n] = after.TotalAlloc - before.TotalAlloc
		cancel()
		wg.Wait()
	}
	if perChange[2000] > 2*perChange[10]+4096 {
		t.Errorf("the health sweep after a change of one spec allocates %d bytes over 2,000 specs, %d over 10: it looks at every name", perChange[2000], perChange[10])
	}
}
