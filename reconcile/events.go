package reconcile

import (
	"context"
	"errors"
	"sync"
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
	report := e.exited
	if in, ok := e.opts.Driver.(driver.Inspector); ok {
		looks := newLooks()
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() { looks.run(ctx, func(c driver.Container) { e.inspectReported(ctx, in, c) }) })
		report = func(c driver.Container) {
			if !e.place(c) {
				looks.add(c)
			}
		}
	}
	retry := newExponentialLimiter(e.opts.BackoffBase, e.opts.BackoffMax)
	for {
		err := w.Watch(ctx, report)
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
	if !e.place(c) {
		e.requestRelist()
	}
}

// place takes in one exit report as exited does and reports whether the
// cache could place it (or it is none of the engine's business).
func (e *Engine) place(c driver.Container) bool {
	if c.Owner != e.opts.Owner || c.State != driver.StateExited {
		return true
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
		return false
	}
	if changed {
		e.enqueue([]string{c.Name})
	}
	return true
}

// inspectReported asks a driver that reads one container about a
// container whose exit report the cache could not place (one the agent
// removed a moment ago, mostly), in place of a relist of the whole host:
// the cache takes what the driver says of it, or forgets it when it is
// gone. When the driver cannot say, the relist tells.
func (e *Engine) inspectReported(ctx context.Context, in driver.Inspector, c driver.Container) {
	v := e.cache.Begin()
	got, err := in.Inspect(ctx, c.ID)
	var f func([]driver.Container) []driver.Container
	switch {
	case errors.Is(err, driver.ErrNotFound):
		f = without(c.ID)
	case err != nil:
		if ctx.Err() == nil {
			e.requestRelist()
		}
		return
	case got.Name != c.Name:
		e.requestRelist() // not what the report said: the relist tells
		return
	default:
		f = withContainer(got)
	}
	if _, changed := e.cache.Write(v, c.Name, f); changed {
		e.enqueue([]string{c.Name})
	}
}

// looks are the containers waiting for inspectReported: the exit
// reports come in a callback that must not block.
type looks struct {
	mu      sync.Mutex
	pending map[string]driver.Container // by ID
	wake    chan struct{}
}

func newLooks() *looks {
	return &looks{pending: make(map[string]driver.Container), wake: make(chan struct{}, 1)}
}

func (l *looks) add(c driver.Container) {
	l.mu.Lock()
	l.pending[c.ID] = c
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run calls look with each container added, until ctx ends.
func (l *looks) run(ctx context.Context, look func(driver.Container)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
		l.mu.Lock()
		batch := l.pending
		l.pending = make(map[string]driver.Container)
		l.mu.Unlock()
		for _, c := range batch {
			look(c)
		}
	}
}
