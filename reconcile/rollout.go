package reconcile

import (
	"context"
	"fmt"
	"github.com/isoagent/isoagent/health"
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// Rollouts: how a change of a spec replaces its running container
// (spec.update, issue 16 point 5).
//
// Start-first, the default, creates and starts the new container next to
// the old one (their IDs differ: the config hash is part of the ID) and
// stops and removes the old one only once the new one is ready. Stop-first,
// chosen in the spec or forced when the new config maps a host port the
// old container holds (two containers cannot map one host port, and a
// port is held from create to remove), stops and removes the old one
// first. Either way the new container has update.timeout to become ready;
// when it is not ready in time, or exits first, the rollout fails: with
// start-first the new container is removed and the old one keeps
// serving; with stop-first the configuration that ran before is brought
// back (its image is kept asked for, so it is not collected, until the
// rollout ends). A failed rollout is not tried again while the spec's
// config hash and update stay: the name is settled, status shows the
// condition RolloutFailed, and a metric and a log line tell of it.
//
// A rollout never blocks a worker: the reconcile that starts it, and each
// that looks at it, returns and asks to come back (Result.RequeueAfter),
// so other names go on.
//
// What the engine keeps of a rollout is in memory; what is on the host is
// enough to go on with a start-first one after the agent restarts: two
// containers of one spec, the new one (of the desired config) and a
// running older one, are a rollout in progress whose deadline counts from
// the new container's start; the old one survives unless the new one is
// ready in time. The configuration a stop-first rollout brings back is the
// one this agent saw running, or else the one the driver kept for the old
// container (driver.ConfigReader). What is lost with a restart is the
// memory of a failed rollout: a restarted agent tries it once more.

// readiness says whether c, the new container of a rollout, is ready to
// take over from the one it replaces (ready), or can no longer become
// ready (failed: it exited). monitor is the spec's update.monitor: how
// long c must have run when no health check decides. It reads only c and
// the clock; the engine calls it on every look at a rollout.
type readiness func(c driver.Container, monitor time.Duration) (ready, failed bool)

// rolloutPoll bounds how long a rollout in progress waits before it looks
// again; an exit the driver reports brings the name back sooner.
const rolloutPoll = time.Second

// runningReady is the readiness of a container without a health check:
// running for monitor (at once for 0); failed once exited.
func runningReady(c driver.Container, monitor time.Duration) (ready, failed bool) {
	switch c.State {
	case driver.StateExited:
		return false, true
	case driver.StateRunning:
		return monitor <= 0 || !c.StartedAt.IsZero() && time.Since(c.StartedAt) >= monitor, false
	}
	return false, false
}

// rolloutReady is the engine's readiness: a container with a health check
// is ready once healthy and has failed once unhealthy (or exited); one
// without is ready as runningReady says.
func (e *Engine) rolloutReady(c driver.Container, monitor time.Duration) (ready, failed bool) {
	if c.State == driver.StateExited {
		return false, true
	}
	st, hasCheck := e.healthOf(c.ID)
	if !hasCheck {
		if !e.health.checkKnown(c.ID) {
			// Its image may have a HEALTHCHECK: known once the health
			// hook has asked, which brings the name back
			// (readinessKnown).
			return false, false
		}
		return runningReady(c, monitor)
	}
	switch st {
	case health.Healthy:
		return c.State == driver.StateRunning, false
	case health.Unhealthy:
		return false, true
	}
	return false, false
}

// readinessKnown enqueues name when a rollout of it is in progress: its new
// container's readiness has just become known (the health hook resolved
// that it has no check, or it turned healthy), so the rollout goes on now
// rather than at its next poll. Other names are left alone, so that a
// container's check resolving does not unsettle a converged host.
func (e *Engine) readinessKnown(name string) {
	d := e.desired.Load().decision(name)
	if d != nil && e.rec.rollouts.get(name).inProgressFor(d) {
		e.enqueue([]string{name})
	}
}

// RolloutResult is how a rollout ended, as a metric label value
// (isoagent_rollouts_total's result).
type RolloutResult string

// Rollout results.
const (
	RolloutSucceeded RolloutResult = "succeeded" // the new container was ready in time; the old one is gone
	RolloutFailed    RolloutResult = "failed"    // it was not: the old configuration runs
)

// RolloutResults returns every RolloutResult.
func RolloutResults() []RolloutResult { return []RolloutResult{RolloutSucceeded, RolloutFailed} }

// UpdateOrders returns every spec.UpdateOrder, as the rollout metric
// labels them.
func UpdateOrders() []spec.UpdateOrder {
	return []spec.UpdateOrder{spec.UpdateStartFirst, spec.UpdateStopFirst}
}

// RolloutObserver is an Observer that is also told how each rollout
// ended, for metrics.
type RolloutObserver interface {
	RolloutDone(name string, order spec.UpdateOrder, result RolloutResult)
}

// CondRolloutFailed: the last change of the spec was not rolled out (the
// message says why); the configuration before it runs, and the change is
// not tried again until the spec changes.
const CondRolloutFailed ConditionType = "RolloutFailed"

// RolloutStatus is what status shows of a name's rollout in progress or
// failed.
type RolloutStatus struct {
	Order spec.UpdateOrder `json:"order"`
	// From and To are the IDs of the container replaced and of its
	// replacement.
	From string `json:"from,omitempty"`
	To   string `json:"to"`
	// Began is when the new container was started; Deadline when the
	// rollout fails unless the new container is ready.
	Began    time.Time `json:"began"`
	Deadline time.Time `json:"deadline"`
	// Failed says why the rollout failed; empty while it runs.
	Failed string `json:"failed,omitempty"`
}

// rollout is what the engine keeps of one name's last rollout.
type rollout struct {
	RolloutStatus
	hash   string            // the config rolled out to
	update spec.UpdatePolicy // as the spec said then
	done   bool              // it succeeded
}

func (ro *rollout) inProgressFor(d *Decision) bool {
	return ro != nil && !ro.done && ro.Failed == "" && ro.hash == d.Config.Hash
}

// failedFor reports whether ro is a failed rollout of d's config and
// update: one not to try again.
func (ro *rollout) failedFor(d *Decision) bool {
	return ro != nil && ro.Failed != "" && ro.hash == d.Config.Hash && ro.update.Equal(d.Spec.Spec.Update)
}

// rollouts holds, per name, the last rollout and the config that ran
// before it (what a failed stop-first rollout brings back). It is safe for
// concurrent use.
type rollouts struct {
	mu   sync.Mutex
	last map[string]*rollout
	// served holds, by name, the config last seen running: the one of
	// the decision it came with, not a copy (520 bytes a name), so it
	// follows the decision in force while that has the same config (see
	// serving), and holds a superseded decision only for a name whose
	// new config does not serve yet. Decisions do not change once
	// published, and readers copy what they change.
	served map[string]*driver.Config
	// changes counts the changes status shows.
	changes uint64
}

func newRollouts() *rollouts {
	return &rollouts{last: make(map[string]*rollout), served: make(map[string]*driver.Config)}
}

// get returns a copy of name's last rollout, nil when there is none.
func (rs *rollouts) get(name string) *rollout {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if ro := rs.last[name]; ro != nil {
		c := *ro
		return &c
	}
	return nil
}

func (rs *rollouts) set(name string, ro rollout) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.last[name] = &ro
	rs.changes++
}

// serving records that cfg runs for name. cfg is kept, not copied: it
// must not change (a decision's, or one of the caller's own).
func (rs *rollouts) serving(name string, cfg *driver.Config) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.served[name] = cfg
}

func (rs *rollouts) lastServed(name string) *driver.Config {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.served[name]
}

// forget drops what is kept of a name without a spec.
func (rs *rollouts) forget(name string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if _, ok := rs.last[name]; ok {
		rs.changes++
	}
	delete(rs.last, name)
	delete(rs.served, name)
}

func (rs *rollouts) version() uint64 {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.changes
}

// views returns the rollouts status shows: in progress or failed.
func (rs *rollouts) views() map[string]rollout {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := make(map[string]rollout, len(rs.last))
	for n, ro := range rs.last {
		if !ro.done {
			out[n] = *ro
		}
	}
	return out
}

// rolloutOrder returns the order in which d's config replaces the old
// container, and why when it is not the spec's: stop-first whenever the
// new config maps a host port. The old container of the spec holds its host ports from
// create to remove, and the driver does not list which they are, so a
// host port of the new config is taken to be one the old container
// holds: both cannot be created at once.
func rolloutOrder(d *Decision) (spec.UpdateOrder, string) {
	if len(d.Config.Ports) > 0 {
		p := d.Config.Ports[0]
		return spec.UpdateStopFirst, fmt.Sprintf("it maps host port %s, which the old container holds until it is removed", portKey(p))
	}
	if d.Spec.Spec.Update.Order == spec.UpdateStopFirst {
		return spec.UpdateStopFirst, ""
	}
	return spec.UpdateStartFirst, ""
}

// updateTimeout is how long d's new container has to become ready.
func updateTimeout(d *Decision) time.Duration {
	if t := d.Spec.Spec.Update.Timeout; t > 0 {
		return time.Duration(t)
	}
	return time.Duration(spec.DefaultUpdateTimeout)
}

// updateMonitor is how long d's new container must run to be ready when
// no health check decides (update.monitor).
func updateMonitor(d *Decision) time.Duration {
	return time.Duration(d.Spec.Spec.Update.MonitorOrDefault())
}

// rolls reports whether changes of d are rolled out: an admitted spec kept
// running (a scheduled one is created afresh for each run).
func rolls(d *Decision) bool { return d != nil && d.Admitted() && !scheduled(d) }

// planFor is what the engine does for name now: planKey under the desired
// state in force, except after a failed rollout of the config in force,
// when the config that ran before stays (and is brought back, after a
// failed stop-first rollout), or, when that one is not known, nothing is
// done.
func (r *containerReconciler) planFor(ds *desiredState, name string, actual []driver.Container) []Action {
	d := ds.decision(name)
	if !rolls(d) {
		return ds.plan(name, actual)
	}
	ro := r.rollouts.get(name)
	if !ro.failedFor(d) {
		return ds.plan(name, actual)
	}
	prev := r.rollouts.lastServed(name)
	if prev == nil || prev.Hash == d.Config.Hash {
		return nil
	}
	held := *d
	held.Config = *prev
	acts := planKey(name, &held, actual, false)
	for i := range acts {
		acts[i].Order = "" // a rollback, not a rollout
		acts[i].Reason = "rollout failed: the previous configuration stays: " + acts[i].Reason
	}
	return acts
}

// rolloutHook looks at name's rollout in progress, if any: it ends it when
// the new container is ready (success) or cannot be in time (failure,
// undoing what it must), or asks to come back. ok reports that the
// reconcile is done with what it returns; otherwise planning goes on.
func (r *containerReconciler) rolloutHook(ctx context.Context, name string, d *Decision, actual []driver.Container) (res Result, ok bool, err error) {
	if d == nil {
		r.rollouts.forget(name)
		return Result{}, false, nil
	}
	if !rolls(d) {
		return Result{}, false, nil
	}
	ro := r.rollouts.get(name)
	if ro.failedFor(d) {
		return Result{}, false, nil
	}
	cur, old := rolloutPair(d, actual)
	now := time.Now()
	if !ro.inProgressFor(d) {
		if cur == nil {
			return Result{}, false, nil
		}
		if old == nil {
			if cur.State == driver.StateRunning {
				r.rollouts.serving(name, &d.Config)
			}
			return Result{}, false, nil
		}
		// Two containers of one spec, the new one and an older running
		// one, and no rollout known: an agent that started mid-rollout.
		// It goes on, counted from the new container's start.
		began := cur.StartedAt
		if began.IsZero() {
			began = now
		}
		ro = &rollout{RolloutStatus: RolloutStatus{Order: spec.UpdateStartFirst, From: old.ID, To: cur.ID, Began: began, Deadline: began.Add(updateTimeout(d))},
			hash: d.Config.Hash, update: d.Spec.Spec.Update}
		r.rollouts.set(name, *ro)
		r.log.Info("rollout found in progress; the old container stays until the new one is ready", "spec", name, "order", ro.Order, "old", ro.From, "id", ro.To, "deadline", ro.Deadline)
	}
	var ready, failed bool
	if cur != nil {
		ready, failed = r.ready(*cur, updateMonitor(d))
	}
	switch {
	case ready:
		ro.done = true
		r.rollouts.set(name, *ro)
		r.rollouts.serving(name, &d.Config)
		r.rolloutDone(name, *ro, RolloutSucceeded)
		return Result{}, false, nil // planning removes the old container, superseded
	case failed:
		why := fmt.Sprintf("container %s exited with code %d before it was ready", cur.ID, cur.ExitCode)
		if cur.State != driver.StateExited {
			why = fmt.Sprintf("container %s turned unhealthy before it was ready", cur.ID)
		}
		return r.failRollout(ctx, name, *ro, cur, why)
	case !now.Before(ro.Deadline):
		why := fmt.Sprintf("container %s was not ready within update.timeout %s", ro.To, ro.Deadline.Sub(ro.Began))
		if cur == nil {
			why = fmt.Sprintf("container %s was not created and started within update.timeout %s", ro.To, ro.Deadline.Sub(ro.Began))
		}
		return r.failRollout(ctx, name, *ro, cur, why)
	case cur == nil:
		return Result{}, false, nil // not created yet: planning creates it
	}
	if prev := r.rollouts.lastServed(name); r.images != nil && prev != nil && prev.Hash != d.Config.Hash {
		// Asked for, the image of the configuration a failure brings
		// back is not collected.
		r.images.Ensure(ctx, prev.Image, prev.ImageDigest)
	}
	return Result{RequeueAfter: min(rolloutPoll, ro.Deadline.Sub(now), untilMonitored(*cur, d, now))}, true, nil
}

// untilMonitored is how long c, the new container of d's rollout, still
// has to run before update.monitor is over: the rollout looks again then
// rather than a poll later. It is rolloutPoll when that does not apply
// (a health check decides, an extra look then costs nothing).
func untilMonitored(c driver.Container, d *Decision, now time.Time) time.Duration {
	if c.State == driver.StateRunning && !c.StartedAt.IsZero() {
		if left := c.StartedAt.Add(updateMonitor(d)).Sub(now); left > 0 {
			return left
		}
	}
	return rolloutPoll
}

// rolloutPair returns, of name's containers, the one of d's config (nil
// when there is none) and the running one it replaces (nil when none
// runs).
func rolloutPair(d *Decision, actual []driver.Container) (cur, old *driver.Container) {
	for i := range actual {
		c := &actual[i]
		switch {
		case c.Hash == d.Config.Hash && c.ID == d.Config.ID:
			cur = c
		case c.State == driver.StateRunning && (old == nil || c.StartedAt.Before(old.StartedAt)):
			old = c
		}
	}
	return cur, old
}

// failRollout records that ro failed and why, and undoes a start-first
// rollout: the new container is stopped and removed; the old one runs on.
// After a stop-first one, planFor brings the previous configuration back.
func (r *containerReconciler) failRollout(ctx context.Context, name string, ro rollout, cur *driver.Container, why string) (Result, bool, error) {
	ro.Failed = why
	r.rollouts.set(name, ro)
	r.rolloutDone(name, ro, RolloutFailed)
	if ro.Order != spec.UpdateStartFirst || cur == nil {
		return Result{}, false, nil
	}
	for _, a := range removeAll(name, []driver.Container{*cur}, "rollout failed", 0) {
		if err := r.do(ctx, nil, a); err != nil {
			return Result{}, true, r.classify(err)
		}
	}
	return Result{}, false, nil
}

// rolloutDone logs how a rollout ended and tells the observer.
func (r *containerReconciler) rolloutDone(name string, ro rollout, result RolloutResult) {
	log := r.log.With("spec", name, "order", ro.Order, "old", ro.From, "id", ro.To, "result", result, "took", time.Since(ro.Began).Round(time.Millisecond))
	switch {
	case result == RolloutSucceeded:
		log.Info("rollout done")
	case ro.Order == spec.UpdateStartFirst:
		log.Warn("rollout failed; the old container keeps running until the spec changes", "reason", ro.Failed)
	case r.rollouts.lastServed(name) != nil:
		log.Warn("rollout failed; the previous configuration is brought back until the spec changes", "reason", ro.Failed)
	default:
		log.Warn("rollout failed; the previous configuration is not known (the driver keeps no configs), so the new container is left as it is until the spec changes", "reason", ro.Failed)
	}
	if o, ok := r.obs.(RolloutObserver); ok {
		o.RolloutDone(name, ro.Order, result)
	}
}

// beginRollout takes a recreate planned with an order: start-first
// creates and starts the new container next to the old one; stop-first
// stops and removes the old one first. Either way the name comes back to
// watch the new container become ready: at once (again) when it is ready
// as soon as it runs (update.monitor 0s).
func (r *containerReconciler) beginRollout(ctx context.Context, d *Decision, a Action) (_ Result, again bool, _ error) {
	now := time.Now()
	ro := rollout{RolloutStatus: RolloutStatus{Order: a.Order, From: a.Old, To: a.ID, Began: now, Deadline: now.Add(updateTimeout(d))},
		hash: a.Config.Hash, update: d.Spec.Spec.Update}
	r.rollouts.set(a.Name, ro)
	step := a
	if a.Order == spec.UpdateStartFirst {
		step = Action{Kind: ActionCreate, Name: a.Name, ID: a.ID, Reason: a.Reason + "; start-first next to " + a.Old, Config: a.Config}
	}
	if prev := r.rollouts.lastServed(a.Name); a.Order == spec.UpdateStopFirst && (prev == nil || prev.Hash == a.Config.Hash) && r.configs != nil {
		// Not seen running by this agent: the driver keeps what the old
		// container was created with.
		if cfg, err := r.configs.Config(ctx, a.Old); err == nil {
			r.rollouts.serving(a.Name, &cfg)
		} else {
			r.log.Warn("the old container's config cannot be read; a failure of this rollout brings nothing back", "spec", a.Name, "old", a.Old, "err", err)
		}
	}
	if prev := r.rollouts.lastServed(a.Name); a.Order == spec.UpdateStopFirst && r.images != nil && prev != nil {
		// Asked for from before the old container goes, the image a
		// failure brings back is not collected.
		r.images.Ensure(ctx, prev.Image, prev.ImageDigest)
	}
	r.log.Info("rollout started", "spec", a.Name, "order", a.Order, "old", a.Old, "id", a.ID, "timeout", updateTimeout(d), "reason", a.Reason)
	if err := r.do(ctx, d, step); err != nil {
		if driver.IsPermanent(err) {
			// Trying again cannot help: the rollout has failed.
			var cur *driver.Container
			for _, c := range r.cache.Get(a.Name) {
				if c.ID == a.ID {
					cur = &c
				}
			}
			_, _, ferr := r.failRollout(ctx, a.Name, ro, cur, err.Error())
			return Result{RequeueAfter: rolloutPoll}, false, ferr
		}
		return Result{}, false, r.classify(err)
	}
	return Result{RequeueAfter: min(rolloutPoll, updateMonitor(d))}, updateMonitor(d) == 0, nil
}

// rolloutConditions adds to cs what status shows of a rollout.
func rolloutConditions(cs *ContainerStatus, ro rollout, d *Decision) {
	if !rolls(d) || ro.hash != d.Config.Hash {
		return
	}
	switch {
	case ro.failedFor(d):
		cs.Rollout = &ro.RolloutStatus
		cs.Conditions = append(cs.Conditions, Condition{Type: CondRolloutFailed, Message: ro.Failed + "; the change is not tried again until the spec changes"})
	case ro.Failed == "":
		cs.Rollout = &ro.RolloutStatus
	}
}

// rolloutHeld reports whether a failed rollout holds name's previous
// configuration in force: status then shows the container that runs.
func rolloutHeld(rs map[string]rollout, name string, d *Decision) bool {
	ro, ok := rs[name]
	return ok && rolls(d) && ro.failedFor(d)
}

// isRollout reports whether a is a recreate to roll out (in its Order),
// rather than one to take as it is (a rollback).
func isRollout(a Action) bool { return a.Kind == ActionRecreate && a.Order != "" }
