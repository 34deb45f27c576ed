package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// A Reconciler brings the host closer to the desired state of one
// container name, as controller-runtime's reconcile.Reconciler does for one
// object. It reads the desired and the actual state afresh on every call,
// so it does not matter what made the name come up. It is never called for
// one name by two goroutines at once.
//
// It returns a zero Result when it is done, a Result with RequeueAfter set
// when it must look again later though nothing failed (a wait, not an
// error), or an error. An error wrapped with TerminalError is not retried
// until something else brings the name up again.
type Reconciler interface {
	Reconcile(ctx context.Context, name string) (Result, error)
}

// Result is what a successful Reconcile asks for.
type Result struct {
	// RequeueAfter, when positive, reconciles the name again after this
	// long.
	RequeueAfter time.Duration
}

// TerminalError marks err as one that trying again cannot fix: it is
// counted and logged but not retried. IsTerminal reports it through any
// wrapping.
func TerminalError(err error) error { return &terminalError{err: err} }

// IsTerminal reports whether err is, or wraps, an error made by
// TerminalError.
func IsTerminal(err error) bool {
	var t *terminalError
	return errors.As(err, &t)
}

type terminalError struct{ err error }

func (e *terminalError) Error() string {
	if e.err == nil {
		return "terminal error"
	}
	return e.err.Error()
}

func (e *terminalError) Unwrap() error { return e.err }

// containerReconciler is the Reconciler of the engine: it takes, for one
// name, the steps planKey gives for the desired state in force and the
// cached containers, holding back what must wait (a restart in crash-loop
// backoff, a container whose network is not up yet).
type containerReconciler struct {
	drv         driver.Driver
	desired     *atomic.Pointer[desiredState]
	cache       *hostCache
	restarts    *restarts
	exits       *exits // nil in tests that build a reconciler alone
	obs         Observer
	log         *slog.Logger
	stopTimeout time.Duration // when a spec gives none
	// relist asks for a relist soon; it must not block.
	relist func()
	// inspector reads one container, when the driver can (steps.go);
	// enqueue brings names up again, for what it learns.
	inspector driver.Inspector
	enqueue   func(names []string)
	// images pulls the images configs name; nil when the engine runs what
	// the host has.
	images Images
	// requests are the restarts asked for with Engine.Restart.
	requests restartRequests
	// sched runs the scheduled specs (schedule.go).
	sched *scheduler
	// health runs the health checks (health.go); nil in tests that
	// build a reconciler alone.
	health *healthHook
	// rollouts are the rollouts of changed specs, and ready says when the
	// new container of one may take over (rollout.go).
	rollouts *rollouts
	ready    readiness
	// configs gives back the config an old container was created with,
	// when the driver keeps it; nil otherwise.
	configs driver.ConfigReader
}

var _ Reconciler = (*containerReconciler)(nil)

func (r *containerReconciler) Reconcile(ctx context.Context, name string) (Result, error) {
	r.restartRequested(ctx, name)
	res, again, err := r.reconcile(ctx, name)
	if again {
		// A rollout just began whose new container is ready once it runs
		// (update.monitor 0s): it takes over now, not a poll later.
		res, _, err = r.reconcile(ctx, name)
	}
	return res, err
}

// reconcile is one pass of Reconcile; again reports a rollout begun that
// is worth a look at once.
func (r *containerReconciler) reconcile(ctx context.Context, name string) (_ Result, again bool, _ error) {
	ds := r.desired.Load()
	d := ds.decision(name)
	if waitsForRegistry(d) {
		// Nothing to do until the registry answers; the name is not
		// settled meanwhile.
		return Result{RequeueAfter: pullPoll}, false, nil
	}
	actual := r.cache.Get(name)
	// A rollout in progress looks first: its new container turning
	// unhealthy fails the rollout (the old one serves on), rather than
	// being restarted as a serving container would be.
	if res, ok, err := r.rolloutHook(ctx, name, d, actual); ok {
		return res, false, err
	}
	if res, ok, err := r.unhealthyHook(ctx, name, d, actual); ok {
		return res, false, err
	}
	if res, ok, err := r.scheduledHook(ctx, ds, name, d, actual); ok {
		return res, false, err
	}
	for _, a := range r.planFor(ds, name, actual) {
		if wait := r.networkWait(name, d, a); wait > 0 {
			return Result{RequeueAfter: wait}, false, nil
		}
		if wait := r.dependsWait(ds, name, d, a); wait > 0 {
			return Result{RequeueAfter: wait}, false, nil
		}
		if wait := r.imageWait(ctx, name, a); wait > 0 {
			return Result{RequeueAfter: wait}, false, nil
		}
		if a.Restart {
			if wait := r.crashWait(name, actual, a.ID); wait > 0 {
				return Result{RequeueAfter: wait}, false, nil
			}
		}
		if isRollout(a) {
			return r.beginRollout(ctx, d, a)
		}
		if err := r.do(ctx, d, a); err != nil {
			return Result{}, false, r.classify(err)
		}
		if a.Restart {
			r.restarts.restarted(name)
			r.obs.Restarted(name)
		}
		if (a.Kind == ActionCreate || a.Kind == ActionRecreate) && !r.rollouts.get(name).inProgressFor(d) {
			// What a later failed stop-first rollout brings back.
			r.rollouts.serving(name, a.Config)
		}
	}
	return Result{}, false, nil
}

// classify marks what retrying cannot fix as terminal, and asks for a
// relist when the error says the cache is out of date.
func (r *containerReconciler) classify(err error) error {
	if driver.IsPermanent(err) {
		return TerminalError(err)
	}
	if errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrAlreadyExists) || errors.Is(err, driver.ErrInvalidState) {
		r.relist()
	}
	return err
}

// networkPoll is how often a container waiting for the container whose
// network it shares looks again.
const networkPoll = 500 * time.Millisecond

// networkWait holds back creating or starting a container that shares the
// network of another until that one runs: HCS refuses it before, and the
// wait is ordering, not failure.
func (r *containerReconciler) networkWait(name string, d *Decision, a Action) time.Duration {
	if a.Kind != ActionCreate && a.Kind != ActionRecreate && a.Kind != ActionStart {
		return 0
	}
	if d == nil || !d.Admitted() || d.Config.NetworkSharedWith == "" {
		return 0
	}
	target := d.Config.NetworkSharedWith
	if r.cache.Running(target) {
		return 0
	}
	r.log.Debug("waiting for the container whose network it shares", "spec", name, "network_of", target)
	return networkPoll
}

// crashWait returns how long the restart of container id must still wait.
func (r *containerReconciler) crashWait(name string, actual []driver.Container, id string) time.Duration {
	var c driver.Container
	for _, x := range actual {
		if x.ID == id {
			c = x
		}
	}
	wait, n, first := r.restarts.wait(name, c)
	if first {
		r.log.Info("container keeps exiting; restart waits", "spec", name, "id", id, "restarts", n, "wait", wait.Round(time.Second))
	}
	return wait
}
