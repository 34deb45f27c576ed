package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// Source loads the spec folder afresh. The engine calls it when it starts
// and on every resync, so a lost watch event costs at most one interval.
type Source interface {
	Load() (*spec.Snapshot, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func() (*spec.Snapshot, error)

// Load calls f.
func (f SourceFunc) Load() (*spec.Snapshot, error) { return f() }

// EngineOptions configure an Engine. Driver is required.
type EngineOptions struct {
	Driver driver.Driver
	// Owner is the owner tag of the containers this agent manages
	// (default "isoagent"). Containers of other owners are never touched.
	Owner string
	// Workers is how many keys are reconciled in parallel (default 4).
	Workers int
	// Resync is how often the engine reloads the Source, relists the
	// driver and reconciles every key (default 30s).
	Resync time.Duration
	// AllowEmpty applies a snapshot without specs: every owned container
	// is pruned. Without it such a snapshot is ignored.
	AllowEmpty bool
	// Source, when set, is loaded at start and on every resync.
	Source Source
	// Admit carries the host name, agent labels and policy for admission;
	// its Owner is taken from Owner.
	Admit AdmitOptions
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Observer defaults to NopObserver.
	Observer Observer
	// BackoffBase and BackoffMax bound the per-key retry backoff after
	// errors (defaults 1s and 5m).
	BackoffBase, BackoffMax time.Duration
	// StopTimeout is used when a spec gives none (default 10s).
	StopTimeout time.Duration
	// RelistInterval is the shortest time between two relists the engine
	// asks for itself, after its own actions (default 1s). Periodic
	// resyncs relist regardless.
	RelistInterval time.Duration
}

// Engine makes the host match the desired state and keeps it matching. It is
// created with NewEngine, fed snapshots with Update (or through a Source),
// and runs with Run.
type Engine struct {
	opts   EngineOptions
	drv    driver.Driver
	log    *slog.Logger
	obs    Observer
	retry  *backoff
	queue  *queue
	update chan struct{}
	relist chan struct{}

	mu        sync.Mutex
	host      driver.Host
	pending   *spec.Snapshot // handed to Update, not applied yet
	pendingAt time.Time
	snap      *spec.Snapshot // applied
	decisions map[string]*Decision
	prune     bool
	conds     map[ConditionType]string // engine conditions: type -> message
	cache     map[string][]driver.Container
	running   map[string]int    // container ID -> cached containers with it that run
	gen       uint64            // bumped on every cache write by a worker
	touched   map[string]uint64 // name -> gen of its last worker write
	keys      map[string]*keyState
	unsettled map[string]bool
	changedAt time.Time // first change not yet converged on; zero when converged
	readyWait map[string]bool
	ready     bool
	relisted  bool
	lastOK    time.Time
}

// keyState is what the engine remembers about one name between reconciles.
type keyState struct {
	lastErr  string
	terminal bool
	crash    crashLoop
	exitSeen map[string]time.Time // container ID -> when first seen exited
	waiting  time.Time            // restart held by crash backoff until
}

// NewEngine returns an engine; it starts nothing until Run.
func NewEngine(opts EngineOptions) *Engine {
	if opts.Owner == "" {
		opts.Owner = "isoagent"
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Resync <= 0 {
		opts.Resync = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Observer == nil {
		opts.Observer = NopObserver{}
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 5 * time.Minute
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.RelistInterval <= 0 {
		opts.RelistInterval = time.Second
	}
	opts.Admit.Owner = opts.Owner
	return &Engine{
		opts:      opts,
		drv:       observedDriver{d: opts.Driver, obs: opts.Observer},
		log:       opts.Logger,
		obs:       opts.Observer,
		retry:     newBackoff(opts.BackoffBase, opts.BackoffMax),
		queue:     newQueue(),
		update:    make(chan struct{}, 1),
		relist:    make(chan struct{}, 1),
		conds:     make(map[ConditionType]string),
		cache:     make(map[string][]driver.Container),
		running:   make(map[string]int),
		touched:   make(map[string]uint64),
		keys:      make(map[string]*keyState),
		unsettled: make(map[string]bool),
	}
}

// Update hands the engine a new snapshot of the spec folder. It does not
// block; only the latest snapshot handed in counts. A nil snapshot is
// ignored.
func (e *Engine) Update(snap *spec.Snapshot) { e.UpdateSeen(snap, time.Now()) }

// UpdateSeen is Update for a snapshot whose change was first seen at
// seenAt (by the folder watcher), so that convergence time counts from
// there rather than from the hand-over.
func (e *Engine) UpdateSeen(snap *spec.Snapshot, seenAt time.Time) {
	if snap == nil {
		return
	}
	e.mu.Lock()
	e.pending = snap
	if e.pendingAt.IsZero() || seenAt.Before(e.pendingAt) {
		e.pendingAt = seenAt
	}
	e.mu.Unlock()
	select {
	case e.update <- struct{}{}:
	default:
	}
}

// SetPolicy replaces the boundary policy admission checks (AdmitOptions.
// Policy) and re-admits every spec under the new one, without waiting for
// the folder to change. A spec the new policy refuses is not created; a
// container already running for it is left running (condition
// KeptRunning), as for any rejected spec. It does not block.
func (e *Engine) SetPolicy(p Policy) {
	e.mu.Lock()
	e.opts.Admit.Policy = p
	// A copy, so that an admission already under way with the old policy
	// does not count as having applied it.
	base := e.pending
	if base == nil {
		base = e.snap
	}
	if base != nil {
		cp := *base
		e.pending = &cp
		if e.pendingAt.IsZero() {
			e.pendingAt = time.Now()
		}
	}
	e.mu.Unlock()
	select {
	case e.update <- struct{}{}:
	default:
	}
}

// SetPolicyError reports in status (condition PolicyInvalid) that the
// policy file cannot be used now, while the policy last set stays in
// force; nil clears it.
func (e *Engine) SetPolicyError(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil {
		delete(e.conds, CondPolicyInvalid)
		return
	}
	e.conds[CondPolicyInvalid] = err.Error() + "; the last good policy stays in force"
}

// Run reconciles until ctx is done and returns after every goroutine it
// started has exited. Containers are left as they are when it returns. It
// returns an error only when the host cannot be described before ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	host, err := e.describeHost(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.host = host
	e.mu.Unlock()
	e.log.Info("engine started", "driver", host.Driver, "host", host.Name,
		"os_version", host.OSVersion.String(), "sku", host.SKU, "owner", e.opts.Owner,
		"workers", e.opts.Workers, "resync", e.opts.Resync)

	var wg sync.WaitGroup
	for range e.opts.Workers {
		wg.Go(func() { e.work(ctx) })
	}
	defer func() {
		e.queue.ShutDown()
		wg.Wait()
	}()

	e.resync(ctx)
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
			e.applyPending(ctx)
		case <-e.relist:
			if relistC == nil {
				relistTimer = time.NewTimer(max(0, e.opts.RelistInterval-time.Since(lastRelist)))
				relistC = relistTimer.C
			}
		case <-relistC:
			relistC = nil
			e.relistDriver(ctx, false)
			lastRelist = time.Now()
		}
	}
}

// describeHost asks the driver for the host, retrying with backoff.
func (e *Engine) describeHost(ctx context.Context) (driver.Host, error) {
	for {
		h, err := e.drv.Host(ctx)
		if err == nil {
			return h, nil
		}
		d := e.retry.When("\x00host")
		e.log.Error("cannot describe the host; retrying", "err", err, "retry_in", d)
		select {
		case <-ctx.Done():
			return driver.Host{}, fmt.Errorf("describe host: %w", err)
		case <-time.After(d):
		}
	}
}

// resync reloads the source, relists the driver and enqueues every key.
func (e *Engine) resync(ctx context.Context) {
	e.relistDriver(ctx, true)
	if e.opts.Source != nil {
		snap, err := e.opts.Source.Load()
		e.mu.Lock()
		if err != nil {
			if e.conds[CondLoadFailed] == "" {
				e.log.Error("cannot load the spec folder; keeping the previous desired state", "err", err)
			}
			e.conds[CondLoadFailed] = err.Error() + "; the previous desired state stays in force"
			e.mu.Unlock()
		} else {
			delete(e.conds, CondLoadFailed)
			e.pending = snap
			if e.pendingAt.IsZero() {
				e.pendingAt = time.Now()
			}
			e.mu.Unlock()
		}
	} else {
		// Admit the folder in force again: what admission reads from the
		// host can change without the folder changing (an image pulled, a
		// junction under a mount source redirected).
		e.mu.Lock()
		if e.pending == nil && e.snap != nil {
			e.pending, e.pendingAt = e.snap, time.Now()
		}
		e.mu.Unlock()
	}
	e.applyPending(ctx)
	e.mu.Lock()
	e.enqueueLocked(e.allKeysLocked())
	e.mu.Unlock()
}

// applyPending admits the pending snapshot, if any, and enqueues the keys
// whose desired state changed.
func (e *Engine) applyPending(ctx context.Context) {
	e.mu.Lock()
	snap, seen, prev := e.pending, e.pendingAt, e.snap
	host := e.host
	admit := e.opts.Admit // SetPolicy changes its Policy
	e.mu.Unlock()
	if snap == nil {
		return
	}
	ds := Admit(ctx, host, e.drv, snap.Specs, admit)
	if prev == nil || prev.Revision != snap.Revision {
		e.log.Info("applying the spec folder", "dir", snap.Dir, "revision", snap.Revision, "specs", len(snap.Specs))
	}

	e.mu.Lock()
	// Until here Converged stays false: the snapshot is still pending.
	if e.pending == snap {
		e.pending, e.pendingAt = nil, time.Time{}
	}
	e.snap = snap
	var changed []string
	prune, cond := Prunable(snap, e.opts.AllowEmpty)
	_, hadEmpty := e.conds[CondEmptyIgnored]
	delete(e.conds, CondEmptyIgnored)
	delete(e.conds, CondPruneSuspended)
	if !prune {
		if !hadEmpty && cond.Type == CondEmptyIgnored {
			e.log.Warn("the spec folder declares no containers; ignoring it and pruning nothing (use --allow-empty to apply an empty folder)", "dir", snap.Dir)
		}
		e.conds[cond.Type] = cond.Message
	}
	if len(snap.Specs) == 0 && !e.opts.AllowEmpty {
		// The previous desired state stays in force.
		e.prune = false
	} else {
		next := make(map[string]*Decision, len(ds))
		for i := range ds {
			d := &ds[i]
			next[d.Name()] = d
			old := e.decisions[d.Name()]
			if !sameDecision(old, d) {
				changed = append(changed, d.Name())
				if !d.Admitted() && (old == nil || old.Admitted() || old.Rejection.Message != d.Rejection.Message) {
					e.obs.Rejected(d.Name(), d.Rejection.Reason)
					e.log.Warn("spec rejected", "spec", d.Name(), "reason", d.Rejection.Reason, "field", d.Rejection.Field, "msg", d.Rejection.Message)
				}
			}
		}
		for n := range e.decisions {
			if next[n] == nil {
				changed = append(changed, n)
			}
		}
		if prune != e.prune {
			for n := range e.cache {
				changed = append(changed, n)
			}
		}
		e.prune = prune
		e.decisions = next
	}
	if !e.relisted {
		// Not ready before the host's containers are known.
		e.enqueueLocked(changed)
		e.mu.Unlock()
		return
	}
	if e.readyWait == nil && !e.ready {
		e.startReadyLocked()
	}
	if len(changed) > 0 && e.changedAt.IsZero() {
		e.changedAt = seen
	}
	e.enqueueLocked(changed)
	e.mu.Unlock()
	e.checkConverged()
}

// startReadyLocked records the keys of the first full pass.
func (e *Engine) startReadyLocked() {
	e.readyWait = make(map[string]bool)
	for _, k := range e.allKeysLocked() {
		e.readyWait[k] = true
	}
	e.changedAt = time.Now()
	if len(e.readyWait) == 0 {
		e.ready = true
	}
}

func sameDecision(a, b *Decision) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Admitted() != b.Admitted() {
		return false
	}
	if !a.Admitted() {
		return *a.Rejection == *b.Rejection
	}
	return a.Config.Hash == b.Config.Hash &&
		a.Spec.Spec.RestartPolicy == b.Spec.Spec.RestartPolicy &&
		a.Spec.Spec.StopTimeout == b.Spec.Spec.StopTimeout
}

// allKeysLocked returns every name with a decision or a container.
func (e *Engine) allKeysLocked() []string {
	keys := make([]string, 0, len(e.decisions)+len(e.cache))
	for n := range e.decisions {
		keys = append(keys, n)
	}
	for n := range e.cache {
		if e.decisions[n] == nil {
			keys = append(keys, n)
		}
	}
	slices.Sort(keys)
	return keys
}

// enqueueLocked marks keys unsettled and queues them, in one step under
// e.mu, so Converged never reports true between the two.
func (e *Engine) enqueueLocked(keys []string) {
	for _, k := range keys {
		e.unsettled[k] = true
		e.queue.Add(k)
	}
}

// relistDriver refreshes the cache of owned containers. Names a worker wrote
// after the list began keep the worker's view, which is newer. Names whose
// containers changed are enqueued; all of them when all is set (the caller
// enqueues).
func (e *Engine) relistDriver(ctx context.Context, all bool) {
	e.mu.Lock()
	g0 := e.gen
	e.mu.Unlock()
	cs, err := e.drv.List(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		e.mu.Lock()
		if _, ok := e.conds[CondDriverUnavailable]; !ok {
			e.log.Error("cannot list containers", "err", err)
		}
		e.conds[CondDriverUnavailable] = err.Error()
		e.mu.Unlock()
		return
	}
	fresh := groupByName(cs, e.opts.Owner)
	e.mu.Lock()
	delete(e.conds, CondDriverUnavailable)
	var changed []string
	for n := range e.cache {
		if _, ok := fresh[n]; !ok && e.touched[n] <= g0 {
			e.uncacheLocked(n)
			changed = append(changed, n)
		}
	}
	for n, list := range fresh {
		if e.touched[n] > g0 {
			continue
		}
		if !sameContainers(e.cache[n], list) {
			changed = append(changed, n)
		}
		e.cacheLocked(n, list)
	}
	first := !e.relisted
	e.relisted = true
	if first && e.snap != nil && e.readyWait == nil {
		e.startReadyLocked()
	}
	if !all {
		e.enqueueLocked(changed)
	}
	e.mu.Unlock()
}

func sameContainers(a, b []driver.Container) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.Hash != y.Hash || x.State != y.State || x.ExitCode != y.ExitCode || !x.FinishedAt.Equal(y.FinishedAt) {
			return false
		}
	}
	return true
}

// work is one worker: it takes keys off the queue until it shuts down.
func (e *Engine) work(ctx context.Context) {
	for {
		key, ok := e.queue.Get()
		if !ok {
			return
		}
		start := time.Now()
		after, err := e.reconcile(ctx, key)
		e.finish(ctx, key, after, err, time.Since(start))
		e.queue.Done(key)
	}
}

// finish decides, alone, what happens to key next from what its reconcile
// returned: done, requeue after a delay, retry with backoff, or a terminal
// error that is counted and not retried.
func (e *Engine) finish(ctx context.Context, key string, after time.Duration, err error, took time.Duration) {
	if ctx.Err() != nil {
		return // shutting down: the half-done step is redone by the next run
	}
	e.mu.Lock()
	ks := e.keyLocked(key)
	delete(e.readyWait, key)
	if e.readyWait != nil && len(e.readyWait) == 0 && !e.ready {
		e.ready = true
	}
	switch {
	case err != nil:
		ks.lastErr = err.Error()
		ks.terminal = driver.IsPermanent(err)
		e.unsettled[key] = true
	case after > 0:
		ks.lastErr = ""
		e.unsettled[key] = true
	default:
		ks.lastErr, ks.terminal = "", false
		e.lastOK = time.Now()
		if len(planKey(key, e.decisions[key], e.cache[key], e.prune)) == 0 {
			delete(e.unsettled, key)
		}
	}
	e.mu.Unlock()

	switch {
	case err != nil && driver.IsPermanent(err):
		e.retry.Forget(key)
		e.obs.Reconciled(OutcomeError, took)
		e.log.Error("reconcile failed; not retrying until the spec or host changes", "spec", key, "err", err)
	case err != nil:
		d := e.retry.When(key)
		e.obs.Reconciled(OutcomeError, took)
		e.log.Error("reconcile failed; retrying", "spec", key, "err", err, "retry_in", d.Round(time.Millisecond))
		e.queue.AddAfter(key, d)
		if needsRelist(err) {
			e.requestRelist()
		}
	case after > 0:
		e.retry.Forget(key)
		e.obs.Reconciled(OutcomeRequeue, took)
		e.queue.AddAfter(key, after)
	default:
		e.retry.Forget(key)
		e.obs.Reconciled(OutcomeSuccess, took)
	}
	e.checkConverged()
}

// needsRelist reports errors that mean the cache is out of date.
func needsRelist(err error) bool {
	return errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrAlreadyExists) || errors.Is(err, driver.ErrInvalidState)
}

func (e *Engine) requestRelist() {
	select {
	case e.relist <- struct{}{}:
	default:
	}
}

// newPendingLocked reports whether a snapshot other than the one in force
// waits to be admitted. The resync's second look at the snapshot in force
// does not count: the host still matches it unless that look finds a
// change, which then unsettles keys.
func (e *Engine) newPendingLocked() bool {
	return e.pending != nil && e.pending != e.snap
}

// checkConverged reports convergence once no key is left unsettled.
func (e *Engine) checkConverged() {
	e.mu.Lock()
	if len(e.unsettled) > 0 || e.changedAt.IsZero() || !e.ready || e.newPendingLocked() {
		e.mu.Unlock()
		return
	}
	d := time.Since(e.changedAt)
	e.changedAt = time.Time{}
	var rev string
	if e.snap != nil {
		rev = e.snap.Revision
	}
	e.mu.Unlock()
	e.obs.Converged(d)
	e.log.Info("host matches the spec folder", "after", d.Round(time.Millisecond), "revision", rev)
}

func (e *Engine) keyLocked(key string) *keyState {
	ks := e.keys[key]
	if ks == nil {
		ks = &keyState{exitSeen: make(map[string]time.Time)}
		e.keys[key] = ks
	}
	return ks
}

// reconcile takes the steps planKey gives for key. It returns a delay when
// a restart must wait for crash backoff.
func (e *Engine) reconcile(ctx context.Context, key string) (time.Duration, error) {
	e.mu.Lock()
	d := e.decisions[key]
	actual := slices.Clone(e.cache[key])
	prune := e.prune
	ks := e.keyLocked(key)
	e.mu.Unlock()

	for _, a := range planKey(key, d, actual, prune) {
		if wait := e.networkWait(key, d, a); wait > 0 {
			return wait, nil
		}
		if a.Restart {
			if wait := e.crashWait(key, ks, actual, a.ID); wait > 0 {
				return wait, nil
			}
		}
		if err := e.do(ctx, d, a); err != nil {
			return 0, err
		}
		if a.Restart {
			e.mu.Lock()
			ks.crash.restarts++
			ks.crash.consecutive++
			ks.waiting = time.Time{}
			e.mu.Unlock()
			e.obs.Restarted(key)
		}
	}
	return 0, nil
}

// networkWait holds back creating or starting a container that shares the
// network of another until that one runs: HCS refuses it before, and the
// wait is ordering, not failure.
func (e *Engine) networkWait(key string, d *Decision, a Action) time.Duration {
	if a.Kind != ActionCreate && a.Kind != ActionRecreate && a.Kind != ActionStart {
		return 0
	}
	if d == nil || !d.Admitted() || d.Config.NetworkSharedWith == "" {
		return 0
	}
	target := d.Config.NetworkSharedWith
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running[target] > 0 {
		return 0
	}
	e.log.Debug("waiting for the container whose network it shares", "spec", key, "network_of", target)
	return networkPoll
}

// networkPoll is how often a container waiting for the container whose
// network it shares looks again.
const networkPoll = 500 * time.Millisecond

// crashWait returns how long the restart of container id must still wait.
func (e *Engine) crashWait(key string, ks *keyState, actual []driver.Container, id string) time.Duration {
	var c driver.Container
	for _, x := range actual {
		if x.ID == id {
			c = x
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	exited := c.FinishedAt
	if exited.IsZero() {
		if ks.exitSeen[id].IsZero() {
			ks.exitSeen[id] = time.Now()
		}
		exited = ks.exitSeen[id]
	}
	var ran time.Duration
	if !c.StartedAt.IsZero() && !c.FinishedAt.IsZero() {
		ran = c.FinishedAt.Sub(c.StartedAt)
	}
	wait := time.Until(exited.Add(ks.crash.delay(ran)))
	if wait > 0 {
		ks.waiting = time.Now().Add(wait)
		e.log.Info("container keeps exiting; restart waits", "spec", key, "id", id, "restarts", ks.crash.restarts, "wait", wait.Round(time.Second))
	}
	return wait
}

// do performs one planned action against the driver, keeps the cache up to
// date and logs one line.
func (e *Engine) do(ctx context.Context, d *Decision, a Action) error {
	start := time.Now()
	err := e.steps(ctx, a)
	took := time.Since(start)
	log := e.log.With("spec", a.Name, "action", string(a.Kind), "id", a.ID, "reason", a.Reason, "duration", took.Round(time.Millisecond))
	if a.Config != nil {
		log = log.With("isolation", a.Config.Isolation, "image", a.Config.Image)
	} else if d != nil && d.Admitted() {
		log = log.With("isolation", d.Config.Isolation, "image", d.Config.Image)
	}
	if a.Old != "" {
		log = log.With("old", a.Old)
	}
	if err != nil {
		log.Error("action failed", "result", "error", "err", err)
		return fmt.Errorf("%s %s: %w", a.Kind, a.Name, err)
	}
	log.Info("action done", "result", "success")
	return nil
}

func (e *Engine) timeout(t spec.Duration) time.Duration {
	if t > 0 {
		return time.Duration(t)
	}
	return e.opts.StopTimeout
}

// steps breaks an action into driver calls, each reported to the observer.
func (e *Engine) steps(ctx context.Context, a Action) error {
	switch a.Kind {
	case ActionCreate:
		return e.createAndStart(ctx, a.Name, *a.Config)
	case ActionRecreate:
		if err := e.stop(ctx, a.Name, a.Old, e.timeout(a.StopTimeout)); err != nil {
			return err
		}
		if err := e.remove(ctx, a.Name, a.Old); err != nil {
			return err
		}
		return e.createAndStart(ctx, a.Name, *a.Config)
	case ActionStart:
		return e.start(ctx, a.Name, a.ID)
	case ActionStop:
		return e.stop(ctx, a.Name, a.ID, e.timeout(a.StopTimeout))
	case ActionRemove:
		return e.remove(ctx, a.Name, a.ID)
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

func (e *Engine) step(kind ActionKind, f func() error) error {
	start := time.Now()
	err := f()
	e.obs.Action(kind, err, time.Since(start))
	return err
}

func (e *Engine) createAndStart(ctx context.Context, name string, cfg driver.Config) error {
	err := e.step(ActionCreate, func() error { return e.drv.Create(ctx, cfg) })
	if err != nil && !errors.Is(err, driver.ErrAlreadyExists) {
		return err
	}
	now := time.Now()
	e.setCached(name, driver.Container{
		ID: cfg.ID, Name: cfg.Name, Owner: cfg.Owner, Hash: cfg.Hash, Isolation: cfg.Isolation,
		Image: cfg.Image, State: driver.StateCreated, CreatedAt: now,
	})
	return e.start(ctx, name, cfg.ID)
}

func (e *Engine) start(ctx context.Context, name, id string) error {
	if err := e.step(ActionStart, func() error { return e.drv.Start(ctx, id) }); err != nil {
		return err
	}
	e.updateCached(name, id, func(c *driver.Container) {
		c.State, c.StartedAt, c.FinishedAt, c.ExitCode = driver.StateRunning, time.Now(), time.Time{}, 0
	})
	// The driver knows the init PID or utility VM; relist soon to learn them
	// and to see a container that exits at once.
	e.requestRelist()
	return nil
}

func (e *Engine) stop(ctx context.Context, name, id string, timeout time.Duration) error {
	err := e.step(ActionStop, func() error { return e.drv.Stop(ctx, id, timeout) })
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	e.updateCached(name, id, func(c *driver.Container) {
		if c.State != driver.StateExited {
			c.State, c.FinishedAt = driver.StateExited, time.Now()
		}
		c.InitPID, c.UtilityVM = 0, nil
	})
	return nil
}

func (e *Engine) remove(ctx context.Context, name, id string) error {
	err := e.step(ActionRemove, func() error { return e.drv.Remove(ctx, id) })
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	list := slices.DeleteFunc(slices.Clone(e.cache[name]), func(c driver.Container) bool { return c.ID == id })
	if len(list) == 0 {
		e.uncacheLocked(name)
	} else {
		e.cacheLocked(name, list)
	}
	e.touchLocked(name)
	return nil
}

func (e *Engine) touchLocked(name string) {
	e.gen++
	e.touched[name] = e.gen
}

func (e *Engine) setCached(name string, c driver.Container) {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := slices.DeleteFunc(slices.Clone(e.cache[name]), func(x driver.Container) bool { return x.ID == c.ID })
	e.cacheLocked(name, append(list, c))
	e.touchLocked(name)
}

func (e *Engine) updateCached(name, id string, f func(*driver.Container)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := slices.Clone(e.cache[name])
	for i := range list {
		if list[i].ID == id {
			f(&list[i])
		}
	}
	e.cacheLocked(name, list)
	e.touchLocked(name)
}

// cacheLocked sets the cached containers of name. Every write to e.cache
// goes through it or uncacheLocked, so that e.running stays in step and
// a container waiting for another's network need not scan every name.
func (e *Engine) cacheLocked(name string, list []driver.Container) {
	e.countRunningLocked(e.cache[name], -1)
	e.cache[name] = list
	e.countRunningLocked(list, 1)
}

// uncacheLocked forgets the containers of name.
func (e *Engine) uncacheLocked(name string) {
	e.countRunningLocked(e.cache[name], -1)
	delete(e.cache, name)
}

func (e *Engine) countRunningLocked(list []driver.Container, by int) {
	for _, c := range list {
		if c.State != driver.StateRunning {
			continue
		}
		if e.running[c.ID] += by; e.running[c.ID] <= 0 {
			delete(e.running, c.ID)
		}
	}
}

// Ready reports whether the first full reconcile is done: the host's
// containers were listed, a snapshot was applied, and every key was
// reconciled once.
func (e *Engine) Ready() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ready
}

// Converged reports whether the host matches the snapshot in force.
func (e *Engine) Converged() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.convergedLocked()
}

func (e *Engine) convergedLocked() bool {
	return e.ready && !e.newPendingLocked() && len(e.unsettled) == 0
}

// Status returns a copy of what the engine knows.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := Status{
		Host:          e.host,
		Ready:         e.ready,
		Converged:     e.convergedLocked(),
		LastReconcile: e.lastOK,
		Containers:    []ContainerStatus{},
	}
	for _, t := range slices.Sorted(maps.Keys(e.conds)) {
		st.Conditions = append(st.Conditions, Condition{Type: t, Message: e.conds[t]})
	}
	stale := make(map[string]string)
	losers := make(map[string][]spec.Conflict)
	if s := e.snap; s != nil {
		st.Dir, st.Revision, st.LoadedAt, st.Conflicts = s.Dir, s.Revision, s.LoadedAt, s.Conflicts
		for _, f := range s.Files {
			if f.Valid() {
				continue
			}
			st.Files = append(st.Files, FileStatus{Path: f.Path, Errors: fileErrors(f.Err), Stale: f.Stale, Names: f.Names})
			for _, n := range f.Names {
				stale[n] = f.Path
			}
		}
		for _, c := range s.Conflicts {
			losers[c.Name] = append(losers[c.Name], c)
		}
	}
	for _, name := range e.allKeysLocked() {
		st.Containers = append(st.Containers, e.containerStatusLocked(name, stale[name], losers[name]))
	}
	return st
}

func (e *Engine) containerStatusLocked(name, staleFile string, losers []spec.Conflict) ContainerStatus {
	cs := ContainerStatus{Name: name}
	d := e.decisions[name]
	ks := e.keys[name]
	actual := e.cache[name]
	if ks != nil {
		cs.LastError = ks.lastErr
		cs.RestartCount = ks.crash.restarts
	}
	var current *driver.Container
	if d != nil {
		cs.Source = d.Spec.Source
		cs.RequestedIsolation = string(d.Spec.Spec.Isolation)
		if cs.RequestedIsolation == "" {
			cs.RequestedIsolation = string(spec.IsolationDefault)
		}
		cs.Image = d.Spec.Spec.Image
		cs.ImageOSVersion = d.ImageOS
		cs.Warnings = d.Warnings
		if d.Admitted() {
			cs.EffectiveIsolation = d.Config.Isolation
			for i := range actual {
				if actual[i].Hash == d.Config.Hash {
					current = &actual[i]
				}
			}
		} else {
			cs.Rejection = d.Rejection
		}
	}
	if staleFile != "" {
		cs.Conditions = append(cs.Conditions, Condition{Type: CondInvalid, Message: staleFile + " is invalid now; its last-known-good spec stays in force"})
	}
	for _, l := range losers {
		cs.Conditions = append(cs.Conditions, Condition{Type: CondConflict, Message: fmt.Sprintf("%s:%d also declares %s and is ignored; %s:%d wins", l.Loser.File, l.Loser.Line, name, l.Winner.File, l.Winner.Line)})
	}
	if current == nil && len(actual) > 0 && (d == nil || !d.Admitted()) {
		current = &actual[0]
	}
	if current != nil {
		cs.ContainerID = current.ID
		cs.InitPID = current.InitPID
		cs.UtilityVM = current.UtilityVM
		if cs.EffectiveIsolation == "" {
			cs.EffectiveIsolation = current.Isolation
		}
	}
	switch {
	case d != nil && !d.Admitted():
		switch d.Rejection.Reason {
		case ReasonConflict:
			cs.State = StateConflict
		case ReasonInvalid:
			cs.State = StateInvalid
		case ReasonNotForThisHost:
			cs.State = StateRejected
			if len(actual) > 0 {
				cs.State = StateRemoving
			}
		default:
			cs.State = StateRejected
		}
		if current != nil && cs.State != StateRemoving {
			cs.Conditions = append(cs.Conditions, Condition{Type: CondKeptRunning, Message: fmt.Sprintf("container %s (%s) is left as it is until the spec is fixed", current.ID, current.State)})
		}
	case d == nil && e.prune:
		cs.State = StateRemoving
	case d == nil:
		cs.State = StateOrphaned
	case current == nil:
		cs.State = StatePending
	case current.State == driver.StateRunning:
		cs.State = StateRunning
		cs.Since = current.StartedAt
	case current.State == driver.StateExited:
		cs.State = StateExited
		cs.Since = current.FinishedAt
		code := current.ExitCode
		cs.ExitCode = &code
		if ks != nil && ks.waiting.After(time.Now()) {
			cs.Conditions = append(cs.Conditions, Condition{Type: CondCrashLoop, Message: fmt.Sprintf("restarted %d times; next restart at %s", ks.crash.restarts, ks.waiting.Format(time.RFC3339))})
		}
	default:
		cs.State = StatePending
		cs.Since = current.CreatedAt
	}
	return cs
}

// Refresh relists the driver now, outside the resync schedule, so that
// Status shows what the driver reports (init PIDs, utility VMs, exits)
// rather than what the engine's own actions left in its cache. Keys whose
// containers changed are reconciled again. It is safe to call while Run
// runs.
func (e *Engine) Refresh(ctx context.Context) {
	e.relistDriver(ctx, false)
}
