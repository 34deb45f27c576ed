package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
)

// EngineOptions configure an Engine. Driver is required.
type EngineOptions struct {
	Driver driver.Driver
	// Owner is the owner tag of the containers this agent manages
	// (default DefaultOwner). Containers of other owners are never touched.
	Owner string
	// Workers is how many keys are reconciled in parallel (default 4).
	Workers int
	// Resync is how often the engine relists the driver, admits the
	// snapshot in force again and reconciles every key (default 30s).
	Resync time.Duration
	// AllowEmpty applies a snapshot without specs: every owned container
	// is pruned. Without it such a snapshot is ignored.
	AllowEmpty bool
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
	// Images, when set, pulls the images the specs name: admission asks it
	// which image a reference names in its registry (AdmitOptions.
	// Registry), and a container is created only once its image is on the
	// host. It tells the engine of new answers and finished pulls through
	// Engine.ImagesChanged. Without it the engine runs what the host has.
	Images Images
	// RelistInterval is the shortest time between two relists the engine
	// asks for itself, after its own actions (default 1s). Periodic
	// resyncs relist regardless.
	RelistInterval time.Duration
	// MaxPrune bounds how many containers one change may prune; the zero
	// value allows DefaultPrunePercent of the owned ones.
	MaxPrune PruneBudget
	// HoldPrune, when set, holds every prune from the start, with this
	// reason (the agent runs on another spec folder than last time),
	// until ConfirmPrune or an admission with nothing to prune; then
	// OnPruneReleased is called, once.
	HoldPrune       string
	OnPruneReleased func()
}

// Engine makes the host match the desired state and keeps it matching. It is
// created with NewEngine, fed snapshots with Update and runs with Run; its
// methods are safe to call from any goroutine, before and while Run runs.
//
// It is a facade over its parts: the intake of desired state (generations),
// the admitted desired state in force, the host cache, the controller that
// runs the container reconciler over a work queue, and the tracker of
// readiness and convergence.
type Engine struct {
	opts   EngineOptions
	drv    driver.Driver // reports every call to the observer
	log    *slog.Logger
	obs    Observer
	intake *intake
	// admissions admits what each snapshot changed; used by Run's
	// goroutine only.
	admissions admissions
	// desired is the desired state in force, published whole.
	desired atomic.Pointer[desiredState]
	// published counts the desired states published.
	published atomic.Uint64
	host      atomic.Pointer[driver.Host]
	cache     *hostCache
	restarts  *restarts
	exits     *exits
	health    *healthHook
	conds     *conditions
	guard     *pruneGuard
	prunes    *pruneCands
	track     *tracker
	rec       *containerReconciler
	ctrl      *controller
	update    chan struct{}
	relistC   chan struct{}
	// listingSince is when Run began waiting for its first successful
	// List, in Unix nanoseconds; 0 before and after.
	listingSince atomic.Int64
}

// NewEngine returns an engine; it starts nothing until Run.
func NewEngine(opts EngineOptions) *Engine {
	if opts.Owner == "" {
		opts.Owner = DefaultOwner
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
	if opts.Images != nil {
		opts.Admit.Registry = opts.Images
	}
	e := &Engine{
		opts:     opts,
		drv:      observedDriver{d: opts.Driver, obs: opts.Observer},
		log:      opts.Logger,
		obs:      opts.Observer,
		intake:   newIntake(opts.Admit.Policy),
		cache:    newHostCache(),
		restarts: newRestarts(),
		conds:    newConditions(),
		guard:    &pruneGuard{budget: opts.MaxPrune, hold: opts.HoldPrune, onRelease: opts.OnPruneReleased},
		prunes:   newPruneCands(),
		update:   make(chan struct{}, 1),
		relistC:  make(chan struct{}, 1),
	}
	e.exits = newExits(e.log, e.obs, opts.Driver)
	e.health = newHealthHook(opts.Driver, e.log, e.obs, &e.desired, e.cache, e.enqueue)
	e.cache.onWrite = func(name string, old, list []driver.Container) {
		e.exits.written(name, old, list)
		e.health.written(name, old, list)
		e.prunes.written(name, old, list)
	}
	e.track = newTracker(e.settled, e.allKeys, e.reportConverged)
	e.rec = &containerReconciler{
		drv: e.drv, desired: &e.desired, cache: e.cache, restarts: e.restarts, exits: e.exits,
		obs: e.obs, log: e.log, stopTimeout: opts.StopTimeout, relist: e.requestRelist,
		images: opts.Images, health: e.health, rollouts: newRollouts(),
	}
	e.rec.configs, _ = opts.Driver.(driver.ConfigReader)
	e.rec.inspector, _ = opts.Driver.(driver.Inspector)
	e.rec.enqueue = e.enqueue
	e.rec.ready = e.rolloutReady
	e.health.decided = e.readinessKnown
	e.rec.sched = newScheduler(func(name string) { e.enqueue([]string{name}) })
	e.ctrl = newController(e.rec, newExponentialLimiter(opts.BackoffBase, opts.BackoffMax), opts.Workers, e.obs, e.log)
	e.ctrl.reconciled = e.track.reconciled
	return e
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
	e.track.desire(e.intake.update(snap, seenAt))
	e.wake()
}

// SetPolicy replaces the boundary policy admission checks (AdmitOptions.
// Policy) and re-admits every spec under the new one, without waiting for
// the folder to change. A spec the new policy refuses is not created; a
// container already running for it is left running (condition
// KeptRunning), as for any rejected spec. It does not block.
func (e *Engine) SetPolicy(p Policy) {
	if gen, ok := e.intake.setPolicy(p); ok {
		e.track.desire(gen)
		e.wake()
	}
}

// ImagesChanged tells the engine that what its Images knows of the image
// ref changed: the registry answered about it, or a pull of it ended. The
// specs are admitted again, and the names whose spec names ref are
// reconciled, without waiting for the next resync. It does not block.
func (e *Engine) ImagesChanged(ref imageref.Ref) {
	if gen, ok := e.intake.touch(ref); ok {
		e.track.desire(gen)
		e.wake()
	}
	var names []string
	if ds := e.desired.Load(); ds != nil {
		for n, d := range ds.decisions {
			if d.Spec.Spec.Image == ref {
				names = append(names, n)
			}
		}
	}
	e.enqueue(names)
}

// SetPolicyError reports in status (condition PolicyInvalid) that the
// policy file cannot be used now, while the policy last set stays in
// force; nil clears it.
func (e *Engine) SetPolicyError(err error) {
	if err == nil {
		e.conds.clear(CondPolicyInvalid)
		return
	}
	e.conds.set(CondPolicyInvalid, err.Error()+"; the last good policy stays in force")
}

// SetRegistriesError reports in status (condition RegistriesInvalid) that
// the registries file cannot be used now, while the one last applied stays
// in force; nil clears it.
func (e *Engine) SetRegistriesError(err error) {
	if err == nil {
		e.conds.clear(CondRegistriesInvalid)
		return
	}
	e.conds.set(CondRegistriesInvalid, err.Error()+"; the last good registries file stays in force")
}

// SetLoadError reports in status (condition LoadFailed) that the spec
// folder cannot be read now (it is missing, or not a folder), while the
// desired state last handed in stays in force; nil clears it. The engine
// does not log it: whoever read the folder has.
func (e *Engine) SetLoadError(err error) {
	if err == nil {
		e.conds.clear(CondLoadFailed)
		return
	}
	c := loadFailed(err)
	e.conds.set(c.Type, c.Message)
}

// SetRevisionRefused reports in status (condition RevisionRefused) that
// the checkout is at a revision that is not applied because its signature
// is missing or untrusted, while the last verified revision stays in
// force; nil clears it. The engine does not log it: whoever refused the
// revision has, once.
func (e *Engine) SetRevisionRefused(err error) {
	if err == nil {
		e.conds.clear(CondRevisionRefused)
		return
	}
	e.conds.set(CondRevisionRefused, err.Error()+"; the last verified revision stays in force")
}

func (e *Engine) wake() {
	select {
	case e.update <- struct{}{}:
	default:
	}
}

// Ready reports whether the first full reconcile is done: the host's
// containers were listed, a snapshot was applied, and every key was
// reconciled once.
func (e *Engine) Ready() bool { return e.track.isReady() }

// NotReady returns nil once Ready, and otherwise why the engine is not
// ready yet, for a readiness probe.
func (e *Engine) NotReady() error {
	if e.track.isReady() {
		return nil
	}
	for _, c := range e.conds.list() {
		if c.Type == CondHostNotListed {
			return errors.New(c.Message)
		}
	}
	if e.host.Load() == nil {
		return errors.New("the host has not been described yet")
	}
	return errors.New("the first full reconcile is not done yet")
}

// Converged reports whether the host matches the desired state in force:
// the latest snapshot and policy handed in are admitted and every key has
// settled since.
func (e *Engine) Converged() bool { return e.track.converged() }

// WaitConverged blocks until the engine has converged and a fresh relist
// of the driver confirms it, so that a container that exited at once is
// not missed and Status shows what the driver reports (init PIDs, utility
// VMs, exits) rather than what the engine's own actions left in its cache.
// When the relist finds a change, it waits for that to converge too. It
// returns ctx.Err() when ctx ends first. Run must be running for the
// engine to converge.
func (e *Engine) WaitConverged(ctx context.Context) error {
	for {
		select {
		case <-e.track.convergedC():
		case <-ctx.Done():
			return ctx.Err()
		}
		e.relist(ctx, false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e.track.converged() {
			return nil
		}
	}
}

// StateVersion changes whenever what Status says of each container's
// state, isolation, image and restarts may have changed: a new desired
// state, a change on the host, a restart held back or done. While it stays the same, a view built from Status
// (the per-container metrics) can be kept, rather than Status built again
// for every look. It never goes back.
func (e *Engine) StateVersion() uint64 {
	return e.published.Load() + e.cache.Changes() + e.restarts.version() + e.health.version() + e.rec.rollouts.version()
}

// PruneBudget returns how many containers one change may prune now, as
// Status reports it, without building a Status.
func (e *Engine) PruneBudget() int { return e.opts.MaxPrune.Allowed(e.cache.Len()) }

// Status returns a copy of what the engine knows.
func (e *Engine) Status() Status {
	return buildStatus(statusInput{
		host:      e.hostInfo(),
		desired:   e.desired.Load(),
		cache:     e.cache.snapshot(),
		restarts:  e.restarts.views(),
		exits:     e.exits.views(),
		conds:     e.conds.list(),
		tracker:   e.track.view(),
		pulls:     e.pulls(),
		schedules: e.rec.sched.views(),
		health:    e.health.views(),
		rollouts:  e.rec.rollouts.views(),
		now:       time.Now(),
		pending:   e.guard.pendingPrune(),
		budget:    e.opts.MaxPrune,
	})
}

// pulls returns what the engine's Images knows of its pulls, by pullKey.
func (e *Engine) pulls() map[string]PullState {
	if e.opts.Images == nil {
		return nil
	}
	ps := e.opts.Images.Pulls()
	m := make(map[string]PullState, len(ps))
	for _, p := range ps {
		m[p.key()] = p
	}
	return m
}
