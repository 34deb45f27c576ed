package reconcile

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// controller is the one worker loop, as controller-runtime's controller:
// its workers take names off a work queue, hand each to the Reconciler,
// and decide alone, from what Reconcile returned, what happens to the name
// next:
//
//   - done (a zero Result, no error): its failures are forgotten, and it
//     comes back only when something enqueues it;
//   - Result.RequeueAfter: it comes back after that delay, a wait that is
//     not a failure;
//   - an error: it comes back after the rate limiter's backoff;
//   - a terminal error (TerminalError): counted and logged, not retried.
//
// A name is never reconciled by two workers at once, and only the
// controller touches its queue. Each outcome goes to the Observer, then to
// reconciled, before another worker can take the name.
type controller struct {
	rec     Reconciler
	queue   *queue
	limiter rateLimiter
	workers int
	obs     Observer
	log     *slog.Logger
	// reconciled, when set, is told what each reconcile returned.
	reconciled func(name string, res Result, err error)
}

func newController(rec Reconciler, limiter rateLimiter, workers int, obs Observer, log *slog.Logger) *controller {
	return &controller{rec: rec, queue: newQueue(), limiter: limiter, workers: workers, obs: obs, log: log}
}

// Add enqueues names. A name already waiting is not added twice; one being
// reconciled is reconciled again after.
func (c *controller) Add(names ...string) {
	for _, n := range names {
		c.queue.Add(n)
	}
}

// AddLow enqueues names behind every name added with Add: the names of a
// pass over every name (after the first list), which looks at them in
// case something was missed, wait behind those of a change.
func (c *controller) AddLow(names ...string) {
	for _, n := range names {
		c.queue.AddLow(n)
	}
}

// Run runs the workers until ctx is done and returns once they have all
// exited. Run may be called once.
func (c *controller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range c.workers {
		wg.Go(func() {
			for {
				name, ok := c.queue.Get()
				if !ok {
					return
				}
				c.process(ctx, name)
				c.queue.Done(name)
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

func (c *controller) process(ctx context.Context, name string) {
	start := time.Now()
	res, err := c.rec.Reconcile(ctx, name)
	took := time.Since(start)
	if ctx.Err() != nil {
		return // shutting down: the half-done step is redone by the next run
	}
	switch {
	case err != nil && IsTerminal(err):
		c.limiter.Forget(name)
		c.obs.Reconciled(OutcomeError, took)
		c.log.Error("reconcile failed; not retrying until the spec or host changes", "spec", name, "err", err)
	case err != nil:
		d := c.limiter.When(name)
		c.obs.Reconciled(OutcomeError, took)
		c.log.Error("reconcile failed; retrying", "spec", name, "err", err, "retry_in", d.Round(time.Millisecond))
		c.queue.AddAfter(name, d)
	case res.RequeueAfter > 0:
		c.limiter.Forget(name)
		c.obs.Reconciled(OutcomeRequeue, took)
		c.queue.AddAfter(name, res.RequeueAfter)
	default:
		c.limiter.Forget(name)
		c.obs.Reconciled(OutcomeSuccess, took)
	}
	if c.reconciled != nil {
		c.reconciled(name, res, err)
	}
}
