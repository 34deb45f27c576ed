package agent

import (
	"slices"
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/health"
	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// observer feeds the engine's observations to the metrics.
type observer struct{ m *metrics.Metrics }

var (
	_ reconcile.Observer        = observer{}
	_ reconcile.RolloutObserver = observer{}
)

func (o observer) Reconciled(r reconcile.Outcome, d time.Duration) {
	o.m.ObserveReconcile(r, d)
	if r == reconcile.OutcomeSuccess {
		o.m.SetLastSuccessfulReconcile(time.Now())
	}
}

func (o observer) Action(k reconcile.ActionKind, err error, _ time.Duration) {
	result := reconcile.OutcomeSuccess
	if err != nil {
		result = reconcile.OutcomeError
	}
	o.m.IncAction(k, result)
}

func (o observer) DriverOp(op driver.Op, _ error, d time.Duration) { o.m.ObserveDriverOp(op, d) }
func (o observer) Restarted(name string)                           { o.m.IncRestart(name) }
func (o observer) Exited(name string, e reconcile.LastExit)        { o.m.IncExit(name, e.Reason) }
func (o observer) Rejected(_ string, r reconcile.Reason)           { o.m.IncRejection(r) }
func (o observer) Converged(d time.Duration)                       { o.m.ObserveConvergence(d) }

var _ reconcile.HealthObserver = observer{}

func (o observer) Probed(_ string, k health.Kind, d time.Duration, ok bool) {
	o.m.ObserveProbe(k, d, ok)
}

func (o observer) RolloutDone(_ string, order spec.UpdateOrder, r reconcile.RolloutResult) {
	o.m.IncRollout(order, r)
}

// infoCache keeps the per-container metrics' view of the engine while the
// engine's StateVersion stays, so that a scrape does not build the whole
// Status (tens of milliseconds at 10,000 specs) when nothing changed.
type infoCache struct {
	eng     *reconcile.Engine
	mu      sync.Mutex
	version uint64
	built   bool
	cached  []metrics.ContainerInfo
}

func newInfoCache(eng *reconcile.Engine) *infoCache { return &infoCache{eng: eng} }

func (c *infoCache) infos() []metrics.ContainerInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The version is read first: a change while Status is built makes
	// the next look build again.
	v := c.eng.StateVersion()
	if !c.built || v != c.version {
		c.cached, c.version, c.built = containerInfos(c.eng.Status()), v, true
	}
	return c.cached
}

// containerInfos is the metrics' view of the engine's status. A spec meant
// for other hosts keeps its state, elsewhere (counted as rejected, it
// would page every host of a shared spec repository).
func containerInfos(st reconcile.Status) []metrics.ContainerInfo {
	out := make([]metrics.ContainerInfo, 0, len(st.Containers))
	for _, c := range st.Containers {
		iso := string(c.EffectiveIsolation)
		if iso == "" {
			iso = c.RequestedIsolation
		}
		ci := metrics.ContainerInfo{
			Name:      c.Name,
			ID:        c.ContainerID,
			Isolation: iso,
			Image:     c.Image,
			State:     c.State,
			// Waiting for a dependency, it is wanted running all the same:
			// the missing-containers alert must see it.
			Desired: c.EffectiveIsolation != "" && (c.State == reconcile.StatePending || c.State == reconcile.StateRunning || c.State == reconcile.StatePulling || c.State == reconcile.StateWaiting),
			// While a new image is pulled, the old container serves.
			Schedule: scheduleInfo(c.Schedule),
			Running:  c.State == reconcile.StateRunning || (c.State == reconcile.StatePulling && c.ContainerState == driver.StateRunning),
		}
		for _, cond := range c.Conditions {
			ci.Conditions = append(ci.Conditions, cond.Type)
		}
		if c.LastExit != nil {
			code := c.LastExit.Code
			ci.LastExitCode = &code
		}
		// Its image looked up or pulled before admission chose an
		// isolation: wanted with the one it asks for, when it names one
		// (the default's is the host's to choose; the pull's condition
		// counts it in isoagent_container_conditions all the same).
		if c.State == reconcile.StatePulling && (iso == string(driver.Process) || iso == string(driver.HyperV)) {
			ci.Desired = true
		}
		if c.Health != nil {
			ci.Health = c.Health.State
		}
		// Waiting out its crash backoff, it is wanted running all the same.
		if c.State == reconcile.StateExited && slices.ContainsFunc(c.Conditions, func(x reconcile.Condition) bool { return x.Type == reconcile.CondCrashLoop }) {
			ci.Desired = true
		}
		out = append(out, ci)
	}
	return out
}

// scheduleInfo is the metrics' view of a scheduled spec's runs; nil for
// a spec without a schedule.
func scheduleInfo(s *reconcile.ScheduleStatus) *metrics.ScheduleInfo {
	if s == nil {
		return nil
	}
	return &metrics.ScheduleInfo{LastRun: s.LastRun, NextRun: s.NextRun, LastExitCode: s.LastExitCode, Missed: s.Missed, Skipped: s.Skipped}
}

// observeSnapshot sets the metrics of a new snapshot of the folder.
func (a *Agent) observeSnapshot(s *spec.Snapshot) {
	var valid, invalid int
	for _, f := range s.Files {
		if f.Valid() {
			valid++
		} else {
			invalid++
		}
	}
	a.metrics.SetSpecFiles(valid, invalid)
	a.metrics.SetConfigRevision(s.Revision)
}
