package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/isoagent/isoagent/driver"
)

// ErrNotRunning is Restart's error for a name with no running container.
var ErrNotRunning = errors.New("no running container")

// restartRequests are the restarts an administrator asked for
// (`isoagent restart`), taken by the worker that reconciles the name, so
// that they never race the worker's own steps.
type restartRequests struct {
	mu  sync.Mutex
	req map[string][]*restartRequest
}

type restartRequest struct {
	reason string
	done   chan error // gets the outcome, once
}

func (q *restartRequests) add(name string, r *restartRequest) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.req == nil {
		q.req = make(map[string][]*restartRequest)
	}
	q.req[name] = append(q.req[name], r)
}

func (q *restartRequests) take(name string) []*restartRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	rs := q.req[name]
	delete(q.req, name)
	return rs
}

// Restart restarts the running container of name now: it stops it with its
// spec's grace and starts it again, and logs why (reason). It returns once
// the container runs again, or with ctx's error (the restart goes on). It
// wraps ErrNotRunning when name has no running container.
func (e *Engine) Restart(ctx context.Context, name, reason string) error {
	if !e.cache.hasRunning(name) {
		return fmt.Errorf("restart %s: %w (isoagent status shows its state)", name, ErrNotRunning)
	}
	r := &restartRequest{reason: reason, done: make(chan error, 1)}
	e.rec.requests.add(name, r)
	e.enqueue([]string{name})
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// restartRequested carries out the restarts asked for name: the running
// container of its current decision is stopped and started again.
func (r *containerReconciler) restartRequested(ctx context.Context, name string) {
	reqs := r.requests.take(name)
	if len(reqs) == 0 {
		return
	}
	err := r.restartNow(ctx, name, reqs[0].reason)
	for _, q := range reqs {
		q.done <- err
	}
}

func (r *containerReconciler) restartNow(ctx context.Context, name, reason string) error {
	var c *driver.Container
	for _, x := range r.cache.Get(name) {
		if x.State == driver.StateRunning {
			c = &x
		}
	}
	if c == nil {
		return fmt.Errorf("restart %s: %w", name, ErrNotRunning)
	}
	timeout := r.stopTimeout
	if d := r.desired.Load().decision(name); d != nil {
		timeout = r.timeout(d.Spec.Spec.StopTimeout)
	}
	log := r.log.With("spec", name, "id", c.ID, "reason", reason)
	if err := r.stop(ctx, name, c.ID, timeout); err != nil {
		log.Error("restart: the stop failed", "err", err)
		return fmt.Errorf("restart %s: %w", name, err)
	}
	if err := r.start(ctx, name, c.ID); err != nil {
		log.Error("restart: the start failed", "err", err)
		return fmt.Errorf("restart %s: %w", name, err)
	}
	log.Warn("container restarted on request")
	return nil
}
