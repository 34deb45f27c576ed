package reconcile

import (
	"context"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// watchExits feeds the host cache with the exits a driver that reports
// them (driver.Watcher) reports as they happen, so that status, metrics
// and WaitConverged stop calling a container running at once, and its
// restart policy acts then, not at the next resync. It returns when ctx
// ends; a Watch that fails is retried with backoff, the relists standing
// in meanwhile.
func (e *Engine) watchExits(ctx context.Context) {
	w, ok := e.opts.Driver.(driver.Watcher)
	if !ok {
		return
	}
	retry := newExponentialLimiter(e.opts.BackoffBase, e.opts.BackoffMax)
	for {
		err := w.Watch(ctx, e.exited)
		if ctx.Err() != nil {
			return
		}
		d := retry.When("watch")
		e.log.Warn("the driver's exit reports stopped; exits are seen at relists until they resume", "err", err, "retry_in", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// exited takes in one exit the driver reported. It must not block. The
// cached container takes the report when it is of its run: the run the
// cache has running (same start, or one that ended after the cache learnt
// of its start), or the run the cache has ended already (the agent's own
// stop, written when the stop returned, whose report brings the driver's
// code and time). Anything else (a container the cache does not know or
// has not seen start, a late report of an earlier run, a run newer than
// the cache's) asks for a relist, which tells the truth.
func (e *Engine) exited(c driver.Container) {
	if c.Owner != e.opts.Owner || c.State != driver.StateExited {
		return
	}
	matched := false
	_, changed := e.cache.Write(e.cache.Begin(), c.Name, func(old []driver.Container) []driver.Container {
		for i, x := range old {
			if x.ID != c.ID {
				continue
			}
			switch {
			case x.State == driver.StateRunning:
				if !x.StartedAt.Equal(c.StartedAt) && c.FinishedAt.Before(x.StartedAt) {
					return old
				}
			case x.State == driver.StateExited && !c.StartedAt.After(x.StartedAt) && !c.FinishedAt.Before(x.StartedAt):
				// Not news, but for the code and time: no relist of the
				// whole host for it.
			default:
				return old
			}
			matched = true
			list := append([]driver.Container(nil), old...)
			list[i] = c
			return list
		}
		return old
	})
	if !matched {
		e.requestRelist()
		return
	}
	if changed {
		e.enqueue([]string{c.Name})
	}
}
