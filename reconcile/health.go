package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/health"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
)

// Health checks. Every running container of an admitted spec whose
// effective check (its spec's, else its image's HEALTHCHECK) says how is
// probed by a loop of its own (package health), for as long as that run
// lasts. A container that turns unhealthy with onUnhealthy restart is
// stopped and started again by the worker of its name, through the crash
// backoff of restart policies, its exit recorded with reason unhealthy.
//
// The check is not part of the container's config hash: it runs in the
// agent, not in the container, so changing it changes nothing the
// container was created with, and the probing loop is started afresh
// with the new check instead of the container being recreated (Docker
// recreates, since there the check is container config).

// HealthState is a container's health: health.Starting, health.Healthy or
// health.Unhealthy.
type HealthState = health.State

// ExitUnhealthy: the agent stopped the container because its health
// check failed.
const ExitUnhealthy ExitReason = "unhealthy"

// HealthView is what status shows of a running container's health.
type HealthView struct {
	State health.State `json:"state"`
	// Check describes the check ("http :80/healthz every 30s");
	// FromImage says the image's HEALTHCHECK gave it.
	Check         string    `json:"check"`
	FromImage     bool      `json:"fromImage,omitempty"`
	FailingStreak int       `json:"failingStreak"`
	Since         time.Time `json:"since,omitzero"`
	// Log are the last probe results, oldest first, bounded (health.
	// MaxResults of at most health.MaxOutputLen bytes each).
	Log []health.Result `json:"log,omitempty"`
}

// HealthObserver is an Observer that is also told of every health probe,
// for metrics.
type HealthObserver interface {
	Probed(name string, kind health.Kind, took time.Duration, ok bool)
}

// healthOf tells the health of container id: hasCheck is false when it
// does not run, or runs without a health check (its spec has none and its
// image none, or the spec disables it). A check that has not answered
// yet, or whose image the loop is still asking about, is health.Starting.
// It is what a gate on health (dependsOn healthy, a rollout) asks; it is
// safe to call from any goroutine.
func (e *Engine) healthOf(id string) (state HealthState, hasCheck bool) {
	return e.health.stateOf(id)
}

// healthHook runs the probing loops.
type healthHook struct {
	drv     driver.Driver // the raw driver, for its abilities
	prober  health.Prober
	clock   health.Clock
	log     *slog.Logger
	obs     Observer
	desired *atomic.Pointer[desiredState]
	cache   *hostCache
	enqueue func([]string)
	// decided, when set, is told of a name whose container's readiness
	// became known, for a rollout that waits on it (Engine.readinessKnown).
	decided func(name string)
	wake    chan struct{}

	mu      sync.Mutex
	dirty   map[string]bool          // names to look at again
	all     bool                     // look at every name again
	loops   map[string]*probeLoop    // by container ID
	byName  map[string]*probeLoop    // the same, by spec name: one each at most
	pending map[string]*unhealthyRun // restarts to do, by name
	changes uint64
	// changed is closed, and replaced, when a loop's state changes.
	changed chan struct{}
}

// probeLoop is the loop of one container run.
type probeLoop struct {
	name, id string
	started  time.Time
	// key is the check and onUnhealthy the loop was started for; another
	// means another loop. Interned: most specs share one (none).
	key    unique.Handle[string]
	cancel context.CancelFunc
	// Set by the loop, under the hook's lock.
	resolved bool
	hasCheck bool
	check    health.Check
	status   health.Status
	restart  bool // onUnhealthy restart
}

// unhealthyRun is a container run to restart for its health.
type unhealthyRun struct {
	id      string
	started time.Time
	output  string // its last probe's
	stopped bool
}

func newHealthHook(drv driver.Driver, log *slog.Logger, obs Observer, desired *atomic.Pointer[desiredState], cache *hostCache, enqueue func([]string)) *healthHook {
	return &healthHook{
		drv: drv, prober: health.NewProber(drv, time.Now), clock: health.RealClock{}, log: log, obs: obs,
		desired: desired, cache: cache, enqueue: enqueue, wake: make(chan struct{}, 1),
		dirty: make(map[string]bool), loops: make(map[string]*probeLoop), byName: make(map[string]*probeLoop), pending: make(map[string]*unhealthyRun),
		changed: make(chan struct{}),
	}
}

// written is the host cache's hook: it only takes note, under the
// cache's lock, of a name whose containers or runs changed (a relist
// writes every name, mostly as it was).
func (h *healthHook) written(name string, old, list []driver.Container) {
	if sameContainers(old, list) && sameStarts(old, list) {
		return
	}
	h.mu.Lock()
	h.dirty[name] = true
	h.mu.Unlock()
	h.nudge()
}

// sameStarts reports whether the containers of a and b, of the same IDs,
// were started at the same times: a restart between two looks is a new
// run to probe.
func sameStarts(a, b []driver.Container) bool {
	for i := range a {
		if !a[i].StartedAt.Equal(b[i].StartedAt) {
			return false
		}
	}
	return true
}

// desiredChanged says that a new desired state is in force: every name
// is looked at again (a check may have changed).
func (h *healthHook) desiredChanged() { h.decisionsChanged(nil, true) }

// decisionsChanged says that a new desired state is in force in which the
// decisions of names may differ from the last (of every name with all):
// the next sweep looks at those, so that a change of one spec costs one
// look, not one per spec.
func (h *healthHook) decisionsChanged(names []string, all bool) {
	h.mu.Lock()
	if all {
		h.all = true
	}
	for _, n := range names {
		h.dirty[n] = true
	}
	h.mu.Unlock()
	h.nudge()
}

func (h *healthHook) nudge() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// run starts and ends the loops as the containers and the desired state
// change, until ctx ends; it returns once every loop has ended.
func (h *healthHook) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	defer func() {
		h.mu.Lock()
		for _, l := range h.loops {
			l.cancel()
		}
		h.mu.Unlock()
	}()
	h.desiredChanged()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		h.sweep(ctx, &wg)
	}
}

// sweep looks at the names noted since the last sweep.
func (h *healthHook) sweep(ctx context.Context, wg *sync.WaitGroup) {
	// The cache's lock is taken before the hook's whenever both are
	// (written runs under the cache's), so never the other way round.
	h.mu.Lock()
	names, all := h.dirty, h.all
	h.dirty, h.all = make(map[string]bool), false
	h.mu.Unlock()
	if all {
		for _, n := range h.cache.Names() {
			names[n] = true
		}
		h.mu.Lock()
		for _, l := range h.loops {
			names[l.name] = true
		}
		h.mu.Unlock()
	}
	ds := h.desired.Load()
	for name := range names {
		h.sweepName(ctx, wg, ds, name)
	}
}

// sweepName ends the loops of name that are not wanted any more and
// starts the one of its current run.
func (h *healthHook) sweepName(ctx context.Context, wg *sync.WaitGroup, ds *desiredState, name string) {
	var want *driver.Container
	var d *Decision
	if ds != nil {
		d = ds.decision(name)
	}
	if d != nil && d.Admitted() {
		for _, c := range h.cache.Get(name) {
			if c.ID == d.Config.ID && c.Hash == d.Config.Hash && c.State == driver.StateRunning {
				want = &c
			}
		}
	}
	var key unique.Handle[string]
	if want != nil {
		key = unique.Make(fmt.Sprintf("%v|%s", d.Spec.Spec.HealthCheck, d.Spec.Spec.OnUnhealthy))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if l := h.byName[name]; l != nil && (want == nil || l.id != want.ID || l.started.UnixNano() != want.StartedAt.UnixNano() || l.key != key) {
		l.cancel()
		delete(h.loops, l.id)
		delete(h.byName, name)
		h.changes++
		h.signalLocked()
	}
	if want == nil || h.byName[name] != nil {
		return
	}
	lctx, cancel := context.WithCancel(ctx)
	l := &probeLoop{name: name, id: want.ID, key: key, started: want.StartedAt, cancel: cancel,
		status: health.NewStatus(want.StartedAt), restart: d.Spec.Spec.OnUnhealthy != spec.UnhealthyNone}
	if c, ok := health.FromSpec(d.Spec.Spec.HealthCheck); ok {
		l.resolved, l.hasCheck, l.check = true, true, c
	} else if d.Spec.Spec.HealthCheck.Disable {
		l.resolved = true
	}
	h.loops[want.ID] = l
	h.byName[name] = l
	h.changes++
	img := d.Config.Image
	prober := h.prober
	if t := d.Config.NetworkSharedWith; t != "" && prober.Addr != nil {
		// Its network is that container's: so is its address.
		prober.Addr = sharedAddress{prober.Addr, t}
	}
	// Cancelled once the loop is over, so that the engine's context does
	// not keep one child per container run without a check.
	wg.Go(func() { h.probe(lctx, l, prober, img); cancel() })
}

// sharedAddress is the address of a container that shares the network of
// container id: id's.
type sharedAddress struct {
	driver.Addresser
	id string
}

func (s sharedAddress) Address(ctx context.Context, _ string, port int) (netip.AddrPort, error) {
	return s.Addresser.Address(ctx, s.id, port)
}

// probe resolves l's check, asking the host about the image when the spec
// has none, and runs the loop.
func (h *healthHook) probe(ctx context.Context, l *probeLoop, prober health.Prober, image imageref.Ref) {
	h.mu.Lock()
	resolved, hasCheck, check := l.resolved, l.hasCheck, l.check
	h.mu.Unlock()
	if resolved && !hasCheck {
		h.readinessKnown(l.name)
		return // disabled
	}
	if !resolved {
		img, err := h.drv.Image(ctx, image)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			h.log.Warn("cannot ask the host about the image's HEALTHCHECK; the container runs without a health check", "spec", l.name, "id", l.id, "image", image, "err", err)
		}
		check, resolved = health.FromImage(img.Healthcheck)
		h.mu.Lock()
		l.resolved, l.hasCheck, l.check = true, resolved, check
		h.changes++
		h.signalLocked()
		h.mu.Unlock()
		if !resolved {
			// Without a check the container is ready by its running
			// alone: a rollout that waits on it looks again now, not
			// a poll later.
			h.readinessKnown(l.name)
			return
		}
	}
	health.Loop(ctx, h.clock, prober, l.id, check, l.started, func(s health.Status, r health.Result) { h.report(l, check, s, r) })
}

// report takes in the status after a probe of l.
func (h *healthHook) report(l *probeLoop, c health.Check, s health.Status, r health.Result) {
	if o, ok := h.obs.(HealthObserver); ok {
		o.Probed(l.name, c.Kind, r.End.Sub(r.Start), r.OK)
	}
	h.mu.Lock()
	old := l.status.State
	l.status = s
	h.changes++
	if s.State != old {
		h.signalLocked()
	}
	restart := false
	if s.State == health.Unhealthy && old != health.Unhealthy && l.restart && h.loops[l.id] == l {
		h.pending[l.name] = &unhealthyRun{id: l.id, started: l.started, output: r.Output}
		restart = true
	}
	h.mu.Unlock()
	if s.State == old {
		return
	}
	log := h.log.With("spec", l.name, "id", l.id, "health", s.State, "check", c.String())
	switch s.State {
	case health.Unhealthy:
		log.Warn("container is unhealthy", "failing_streak", s.FailingStreak, "last_output", r.Output, "restart", restart)
	default:
		log.Info("container health changed", "was", old)
	}
	if restart {
		h.enqueue([]string{l.name})
	}
	if s.State == health.Healthy {
		h.readinessKnown(l.name)
	}
}

// readinessKnown tells the engine that the readiness of name's container
// is known now (its check turned out to be none, or it turned healthy).
func (h *healthHook) readinessKnown(name string) {
	if h.decided != nil {
		h.decided(name)
	}
}

// checkKnown reports whether it is known whether container id has a
// check: its loop has found it in the spec or the image, or found none. A
// running container whose loop has not yet asked the host about its image
// may have one.
func (h *healthHook) checkKnown(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.loops[id]
	return l != nil && l.resolved
}

// stateOf is healthOf. A running container with no loop yet (the sweep
// has not seen it) has a check when its spec says one.
func (h *healthHook) stateOf(id string) (health.State, bool) {
	h.mu.Lock()
	l := h.loops[id]
	if l != nil {
		defer h.mu.Unlock()
		if l.resolved && !l.hasCheck {
			return "", false
		}
		return l.status.State, true
	}
	h.mu.Unlock()
	// A container ID is its name, "-" and a hash (ContainerID).
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return "", false
	}
	d := h.desired.Load().decision(id[:i])
	if d == nil || !d.Admitted() || d.Config.ID != id || !h.cache.Running(id) {
		return "", false
	}
	if _, ok := health.FromSpec(d.Spec.Spec.HealthCheck); ok {
		return health.Starting, true
	}
	return "", false
}

// views returns what status shows of the health of every probed
// container, by container ID.
func (h *healthHook) views() map[string]HealthView {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := make(map[string]HealthView, len(h.loops))
	for id, l := range h.loops {
		if l.resolved && !l.hasCheck {
			continue
		}
		v := HealthView{State: l.status.State, FailingStreak: l.status.FailingStreak, Since: l.status.Since,
			Log: append([]health.Result(nil), l.status.Log...)}
		if l.resolved {
			v.Check, v.FromImage = l.check.String(), l.check.FromImage
		}
		m[id] = v
	}
	return m
}

func (h *healthHook) signalLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// notHealthy returns the names of the running containers with a health
// check that is not healthy, sorted.
func (h *healthHook) notHealthy() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range h.loops {
		if (!l.resolved || l.hasCheck) && l.status.State != health.Healthy {
			out = append(out, l.name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// waitHealthy waits until every running container with a health check is
// healthy, and reports whether they are; false when ctx ended first.
func (h *healthHook) waitHealthy(ctx context.Context) bool {
	for {
		h.mu.Lock()
		changed := h.changed
		h.mu.Unlock()
		if len(h.notHealthy()) == 0 {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// version counts the changes status shows.
func (h *healthHook) version() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changes
}

func (h *healthHook) pendingRun(name string) *unhealthyRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pending[name]
}

func (h *healthHook) done(name string, u *unhealthyRun) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending[name] == u {
		delete(h.pending, name)
	}
}

// unhealthyHook restarts the container of name that its health check
// found unhealthy: it stops it now, its exit recorded with reason
// unhealthy, and starts it again when the crash backoff allows, whatever
// the restart policy but never (which leaves it stopped, as a failed run).
// ok is false when there is nothing to do, and the plan goes on.
func (r *containerReconciler) unhealthyHook(ctx context.Context, name string, d *Decision, actual []driver.Container) (res Result, ok bool, err error) {
	if r.health == nil {
		return Result{}, false, nil
	}
	u := r.health.pendingRun(name)
	if u == nil {
		return Result{}, false, nil
	}
	var c *driver.Container
	for i := range actual {
		if actual[i].ID == u.id {
			c = &actual[i]
		}
	}
	switch {
	case c == nil || d == nil || !d.Admitted() || c.Hash != d.Config.Hash,
		!u.stopped && (c.State != driver.StateRunning || !c.StartedAt.Equal(u.started)),
		u.stopped && c.State != driver.StateExited:
		// Gone, changed, or started meanwhile: the plan takes over.
		r.health.done(name, u)
		return Result{}, false, nil
	}
	log := r.log.With("spec", name, "id", c.ID)
	if !u.stopped {
		log.Warn("container is unhealthy; restarting it", "last_output", u.output)
		if r.exits != nil {
			r.exits.expectReason(c.ID, ExitUnhealthy)
		}
		if err := r.stop(ctx, name, c.ID, r.timeout(d.Spec.Spec.StopTimeout)); err != nil {
			return Result{}, true, r.classify(err)
		}
		u.stopped = true
		actual = r.cache.Get(name)
	}
	if d.Spec.Spec.RestartPolicy == spec.RestartNever {
		r.health.done(name, u)
		return Result{}, true, nil
	}
	if wait := r.crashWait(name, actual, c.ID); wait > 0 {
		return Result{RequeueAfter: wait}, true, nil
	}
	if err := r.start(ctx, name, c.ID); err != nil {
		return Result{}, true, r.classify(err)
	}
	r.health.done(name, u)
	r.restarts.restarted(name)
	r.obs.Restarted(name)
	return Result{}, true, nil
}
