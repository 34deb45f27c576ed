package reconcile

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// Run reconciles until ctx is done and returns after every goroutine it
// started has exited. Containers are left as they are when it returns.
//
// Nothing is created, stopped or removed before one List of the driver has
// succeeded: until then the engine does not know which containers run, and
// acting would start a second container next to one it cannot see. It
// returns an error only when the host cannot be described, or its
// containers listed, before ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	host, err := e.describeHost(ctx)
	if err != nil {
		return err
	}
	e.host.Store(&host)
	e.log.Info("engine started", "driver", host.Driver, "host", host.Name,
		"os_version", host.OSVersion.String(), "sku", host.SKU, "owner", e.opts.Owner,
		"workers", e.opts.Workers, "resync", e.opts.Resync)
	if err := e.firstList(ctx); err != nil {
		return err
	}

	ctrlDone := make(chan struct{})
	defer e.rec.sched.stop() // after the workers, which arm its timers, are done
	go func() {
		defer close(ctrlDone)
		e.ctrl.Run(ctx)
	}()
	defer func() { <-ctrlDone }()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		e.watchExits(ctx)
	}()
	defer func() { <-watchDone }()
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		e.health.run(ctx)
	}()
	defer func() { <-healthDone }()

	e.reconcileAll(ctx) // firstList has just listed
	ticker := time.NewTicker(e.opts.Resync)
	defer ticker.Stop()
	var relistTimer *time.Timer
	var relistC <-chan time.Time
	lastRelist := time.Now()
	for {
		select {
		case <-ctx.Done():
			if relistTimer != nil {
				relistTimer.Stop()
			}
			return nil
		case <-ticker.C:
			e.resync(ctx)
			lastRelist = time.Now()
		case <-e.update:
			changed, _ := e.apply(ctx, false)
			e.ctrl.Add(changed...)
		case <-e.relistC:
			if relistC == nil {
				relistTimer = time.NewTimer(max(0, e.opts.RelistInterval-time.Since(lastRelist)))
				relistC = relistTimer.C
			}
		case <-relistC:
			relistC = nil
			e.relist(ctx, false)
			lastRelist = time.Now()
		}
	}
}

// describeHost asks the driver for the host, retrying with backoff.
func (e *Engine) describeHost(ctx context.Context) (driver.Host, error) {
	retry := newExponentialLimiter(e.opts.BackoffBase, e.opts.BackoffMax)
	for {
		h, err := e.drv.Host(ctx)
		if err == nil {
			return h, nil
		}
		d := retry.When("host")
		e.log.Error("cannot describe the host; retrying", "err", err, "retry_in", d)
		select {
		case <-ctx.Done():
			return driver.Host{}, fmt.Errorf("describe host: %w", err)
		case <-time.After(d):
		}
	}
}

// firstList lists the host's containers until a List succeeds, retrying
// with backoff (at most the resync interval apart); until then condition
// HostNotListed holds and readiness says why.
func (e *Engine) firstList(ctx context.Context) error {
	retry := newExponentialLimiter(e.opts.BackoffBase, min(e.opts.BackoffMax, e.opts.Resync))
	// Set before the first call, which may hang as well as fail.
	e.conds.set(CondHostNotListed, hostNotListed)
	e.listingSince.Store(time.Now().UnixNano())
	for {
		err := e.relist(ctx, true)
		if err == nil {
			e.conds.clear(CondHostNotListed)
			e.listingSince.Store(0)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("list the host's containers: %w", err)
		}
		e.conds.set(CondHostNotListed, hostNotListed+" (last error: "+err.Error()+")")
		select {
		case <-ctx.Done():
			return fmt.Errorf("list the host's containers: %w", err)
		case <-time.After(retry.When("list")):
		}
	}
}

const hostNotListed = "the host's containers have not been listed yet; nothing is created, stopped or removed until they are"

// Health returns nil unless the engine has waited for its first
// successful List for longer than twice the resync interval, a List that
// hangs included; then it says so, for a liveness probe. It is safe to
// call from any goroutine.
func (e *Engine) Health() error {
	since := e.listingSince.Load()
	if since == 0 {
		return nil
	}
	bound := 2 * e.opts.Resync
	if d := time.Since(time.Unix(0, since)); d > bound {
		msg := hostNotListed
		for _, c := range e.conds.list() {
			if c.Type == CondHostNotListed {
				msg = c.Message
			}
		}
		return fmt.Errorf("%s, for %v, longer than %v", msg, d.Round(time.Second), bound)
	}
	return nil
}

// resync describes the host and relists the driver again, admits the
// snapshot in force again (what admission reads from the host can change
// without the folder changing: an image pulled, a junction under a mount
// source redirected, Hyper-V found missing) and enqueues the keys that
// changed or are not settled. A host that cannot be described now keeps
// its last description.
func (e *Engine) resync(ctx context.Context) {
	if h, err := e.drv.Host(ctx); err == nil {
		e.host.Store(&h)
	}
	// The relist enqueues the names whose containers changed, the
	// admission those whose decisions did; of the others only those not
	// settled (failed, terminal errors included, or with something left
	// to do) are reconciled again. A settled name whose containers and
	// decision are as they were has nothing to do: reconciling every
	// name here cost a plan per spec at every resync.
	e.relist(ctx, false)
	changed, _ := e.apply(ctx, true)
	keys := append(e.track.unsettledNames(), changed...)
	slices.Sort(keys)
	e.enqueue(slices.Compact(keys))
}

// reconcileAll admits the snapshot in force again and enqueues every key:
// those the admission changed first, the others behind every key a change
// enqueues meanwhile (controller.AddLow).
func (e *Engine) reconcileAll(ctx context.Context) {
	changed, published := e.apply(ctx, true)
	// One enqueue for the whole pass: a key added twice could be
	// reconciled twice, the second time just after the first failed,
	// retrying a terminal error at once. So the keys a first admission
	// handed to the workers already are not added again.
	changed = slices.DeleteFunc(changed, func(k string) bool { return published[k] })
	slices.Sort(changed)
	changed = slices.Compact(changed)
	e.enqueue(changed)
	rest := slices.DeleteFunc(e.allKeys(), func(k string) bool {
		_, found := slices.BinarySearch(changed, k)
		return published[k] || found
	})
	if len(rest) == 0 {
		return
	}
	slices.Sort(rest)
	e.track.unsettle(rest)
	e.ctrl.AddLow(rest...)
}

// apply admits the latest snapshot, when there is a new one (or again
// anyway), and makes it the desired state in force. It returns the keys
// whose desired state changed, unsettled already, for the caller to
// enqueue; and, for a first admission, the keys it handed to the workers
// itself as they were admitted, which the caller must not add again.
func (e *Engine) apply(ctx context.Context, again bool) (changed []string, published map[string]bool) {
	adm, ok := e.intake.next(again)
	if !ok {
		return nil, nil
	}
	admit := e.opts.Admit
	admit.Policy = adm.policy
	prev := e.desired.Load()
	pass := admitPass{
		ctx: ctx, host: e.hostInfo(), images: e.drv, snap: adm.snap, opts: admit,
		policyGen: adm.policyGen, again: again, looks: adm.looks,
	}
	if prev == nil {
		// The first admission: the workers start on the first specs
		// while the others are admitted. What is published meanwhile
		// prunes nothing and is not the state convergence counts on.
		published = make(map[string]bool)
		pass.publish = func(decisions map[string]*Decision, names []string) {
			e.track.unsettle(names)
			e.desired.Store(&desiredState{snap: adm.snap, decisions: decisions})
			e.health.desiredChanged()
			e.ctrl.Add(names...)
			for _, n := range names {
				published[n] = true
			}
		}
	}
	r := e.admissions.admit(pass)
	if prev == nil || prev.snap.Revision != adm.snap.Revision {
		e.log.Info("applying the spec folder", "dir", adm.snap.Dir, "revision", adm.snap.Revision, "specs", len(adm.snap.Specs))
	}
	ch := nextAdmitted(prev, adm.snap, r, e.opts.AllowEmpty, e.cache.Names)
	ch.changed = append(ch.changed, e.guardPrune(prev, ch.next, ch.changed)...)
	for _, d := range ch.rejected {
		if d.LookupPending {
			continue // a wait for the registry's first answer, not a refusal
		}
		e.obs.Rejected(d.Name(), d.Rejection.Reason)
		e.log.Warn("spec rejected", "spec", d.Name(), "reason", d.Rejection.Reason, "field", d.Rejection.Field, "detail", d.Rejection.Message)
	}
	hadEmpty := e.conds.clear(CondEmptyIgnored)
	e.conds.clear(CondPruneSuspended)
	if ch.cond.Type != "" {
		if !hadEmpty && ch.cond.Type == CondEmptyIgnored {
			e.log.Warn("the spec folder declares no containers; ignoring it and pruning nothing (use --allow-empty to apply an empty folder)", "dir", adm.snap.Dir)
		}
		e.conds.set(ch.cond.Type, ch.cond.Message)
	}
	// The changed keys are unsettled before the new desired state is
	// published, and again with the generation it applies, so that
	// convergence is not reported for a change whose keys wait. Those a
	// first admission handed out are unsettled already, and a worker may
	// have settled them since: unsettled again, nothing would settle them.
	var handedOut []string
	ch.changed = slices.DeleteFunc(ch.changed, func(k string) bool {
		if published[k] {
			handedOut = append(handedOut, k)
		}
		return published[k]
	})
	e.track.unsettle(ch.changed)
	e.desired.Store(ch.next)
	// The decisions the pass made again, not only those that ask the host
	// for something else: a changed health check is one of them.
	e.health.decisionsChanged(r.changed, r.full || prev == nil || prev.gen != r.base)
	e.published.Add(1)
	e.intake.done(adm.gen)
	e.track.admitted(adm.gen, ch.changed, handedOut, adm.seenAt)
	return ch.changed, published
}

// relist refreshes the host cache from the driver. Names whose containers
// changed are enqueued, unless all is set (the caller enqueues every key).
// It returns List's error.
func (e *Engine) relist(ctx context.Context, all bool) error {
	changed, err := e.relistChanged(ctx)
	if err == nil && !all {
		e.enqueue(changed)
	}
	return err
}

// relistChanged refreshes the host cache from the driver and returns the
// names whose containers changed, for the caller to enqueue, and List's
// error.
func (e *Engine) relistChanged(ctx context.Context) ([]string, error) {
	v := e.cache.Begin()
	cs, err := e.drv.List(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		if !e.conds.set(CondDriverUnavailable, err.Error()) {
			e.log.Error("cannot list containers", "err", err)
		}
		return nil, err
	}
	e.conds.clear(CondDriverUnavailable)
	fresh := groupByName(cs, e.opts.Owner)
	var changed []string
	for _, n := range e.cache.Names() {
		if _, ok := fresh[n]; !ok {
			if _, ch := e.cache.Write(v, n, replaceWith(nil)); ch {
				changed = append(changed, n)
			}
		}
	}
	for n, list := range fresh {
		if _, ch := e.cache.Write(v, n, replaceWith(list)); ch {
			changed = append(changed, n)
		}
	}
	e.track.relistDone()
	return changed, nil
}

func (e *Engine) requestRelist() {
	select {
	case e.relistC <- struct{}{}:
	default:
	}
}

// enqueue marks keys unsettled and hands them to the controller, in that
// order, so convergence is never reported for a key that waits.
func (e *Engine) enqueue(keys []string) {
	if len(keys) == 0 {
		return
	}
	e.track.unsettle(keys)
	e.ctrl.Add(keys...)
}

// allKeys returns every name with a decision or cached containers, sorted.
func (e *Engine) allKeys() []string { return allKeys(e.desired.Load(), e.cache.Names()) }

// settled reports whether planning has nothing to do for key now.
func (e *Engine) settled(key string) bool {
	ds := e.desired.Load()
	return len(e.rec.planFor(ds, key, e.cache.Get(key))) == 0
}

// reportConverged logs and reports one convergence.
func (e *Engine) reportConverged(d time.Duration) {
	var rev string
	if ds := e.desired.Load(); ds != nil {
		rev = ds.snap.Revision
	}
	e.obs.Converged(d)
	e.log.Info("host matches the spec folder", "after", d.Round(time.Millisecond), "revision", rev)
}

func (e *Engine) hostInfo() driver.Host {
	if h := e.host.Load(); h != nil {
		return *h
	}
	return driver.Host{}
}
