package reconcile

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestWaitSettled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		specs := threeSpecs()
		r := start(t, openSim(t, ""), snapshot(specs...))
		r.waitConverged()

		// Converged and quiet: it answers once settle has passed.
		begin := time.Now()
		c := r.eng.WaitSettled(t.Context(), 1500*time.Millisecond)
		if !c.Converged || c.Specs != 3 || time.Since(begin) != 1500*time.Millisecond {
			t.Fatalf("WaitSettled on a quiet host = %+v after %v, want converged on 3 specs after 1.5s", c, time.Since(begin))
		}

		// A change during the settle restarts it: the answer comes only
		// once the change has converged and settle has passed again.
		got := make(chan Convergence, 1)
		begin = time.Now()
		go func() { got <- r.eng.WaitSettled(t.Context(), 1500*time.Millisecond) }()
		time.Sleep(time.Second)
		synctest.Wait()
		next := append(specs[:2:2], ctr("d", img2022))
		r.apply(snapshot(next...))
		c = <-got
		if !c.Converged || c.Specs != 3 || time.Since(begin) < 2500*time.Millisecond {
			t.Fatalf("WaitSettled across a change = %+v after %v, want converged after the change plus 1.5s", c, time.Since(begin))
		}
		if _, ok := r.containers()["d"]; !ok {
			t.Fatalf("converged before d was created: %v", r.containers())
		}

		// A deadline first: not converged.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if c := r.eng.WaitSettled(ctx, 2*time.Second); c.Converged {
			t.Fatalf("WaitSettled past its deadline = %+v, want not converged", c)
		}
	})
}
