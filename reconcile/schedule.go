package reconcile

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// Scheduled runs: a spec with spec.schedule is a job. Its container is
// created (or, exited, started again) at the times the schedule names and
// is otherwise left as its last run left it: no container before the first
// run, an exited one between runs. Its restart policy applies within a run
// (never by default; on-failure retries a failed run with crash backoff);
// always is refused by validation.
//
// A run is due when a schedule time has passed since the last run began.
// That is read from the start time in the container's record, kept by the
// driver, so a run missed while the agent was down is found at its start:
// the latest missed time is run once, when it is within startingDeadline
// (any age when none is given), and counted as missed otherwise. Before a
// first run, the count starts when the agent first sees the spec.

// ScheduleStatus is what status reports of a scheduled spec's runs.
type ScheduleStatus struct {
	Schedule string `json:"schedule"`
	// TimeZone is the zone the schedule is read in: the spec's, or the
	// host's local one.
	TimeZone          string                 `json:"timeZone"`
	ConcurrencyPolicy spec.ConcurrencyPolicy `json:"concurrencyPolicy"`
	// LastRun is when the last run began, from its container's record.
	LastRun time.Time `json:"lastRun,omitzero"`
	// NextRun is the next time the schedule names; zero when none.
	NextRun time.Time `json:"nextRun,omitzero"`
	// LastExitCode is the exit code of the last run, once one exited.
	LastExitCode *int `json:"lastExitCode,omitempty"`
	// Missed counts runs not made since the agent started because they
	// were found later than startingDeadline; Skipped those that found
	// the previous run still running under concurrencyPolicy forbid.
	Missed  int `json:"missed"`
	Skipped int `json:"skipped"`
}

// sameRuns reports whether two admitted decisions for a name order and
// schedule their runs alike: the same dependencies and schedule.
func sameRuns(a, b *Decision) bool {
	x, y := a.Spec.Spec, b.Spec.Spec
	return slices.Equal(x.DependsOn, y.DependsOn) && x.Schedule == y.Schedule && x.TimeZone == y.TimeZone &&
		x.ConcurrencyPolicy == y.ConcurrencyPolicy && x.StartingDeadline == y.StartingDeadline
}

// scheduled reports whether d is an admitted scheduled spec.
func scheduled(d *Decision) bool { return d != nil && d.Admitted() && d.Spec.Spec.Schedule != "" }

// runNow is what the scheduler says of a scheduled name at one moment.
type runNow struct {
	due bool
	// at is the schedule time of the due run.
	at time.Time
	// replace stops what runs first (concurrencyPolicy replace).
	replace bool
}

// planScheduled is planKey for a scheduled decision: the steps of a run
// when one is due, and otherwise only what keeps the runs tidy: stale
// containers that do not run removed (one that runs is a run in progress
// of the previous spec, left to end unless a due run replaces it), and a
// failed run restarted under restartPolicy on-failure. It is pure.
func planScheduled(name string, d *Decision, actual []driver.Container, run runNow) []Action {
	cfg := &d.Config
	timeout := d.Spec.Spec.StopTimeout
	var current *driver.Container
	var acts []Action
	for i := range actual {
		c := &actual[i]
		if c.Hash == cfg.Hash && c.ID == cfg.ID && current == nil {
			current = c
			continue
		}
		if c.State == driver.StateRunning && !(run.due && run.replace) {
			continue
		}
		acts = append(acts, removeAll(name, []driver.Container{*c}, "superseded", timeout)...)
	}
	why := fmt.Sprintf("scheduled run of %s", run.at.Format(time.RFC3339))
	switch {
	case run.due && current == nil:
		acts = append(acts, Action{Kind: ActionCreate, Name: name, ID: cfg.ID, Reason: why, Config: cfg})
	case run.due && current.State == driver.StateRunning:
		acts = append(acts,
			Action{Kind: ActionStop, Name: name, ID: current.ID, Reason: why + " replaces the run in progress", StopTimeout: timeout},
			Action{Kind: ActionStart, Name: name, ID: current.ID, Reason: why})
	case run.due:
		acts = append(acts, Action{Kind: ActionStart, Name: name, ID: current.ID, Reason: why})
	case current != nil && current.State == driver.StateExited:
		if why, ok := restartWanted(d.Spec.Spec.RestartPolicy, current.ExitCode); ok {
			acts = append(acts, Action{Kind: ActionStart, Name: name, ID: current.ID, Reason: why, Restart: true})
		}
	}
	return acts
}

// latestDue returns the latest time s names in (since, now], or the zero
// time when there is none. It looks back from now in doubling windows, so
// that a long absence costs as little as a short one.
func latestDue(s spec.Schedule, since, now time.Time) time.Time {
	first := s.Next(since)
	if first.IsZero() || first.After(now) {
		return time.Time{}
	}
	for w := time.Minute; ; w *= 2 {
		from := now.Add(-w)
		if !from.After(since) {
			from = since
		}
		if t := s.Next(from); !t.IsZero() && !t.After(now) {
			for {
				n := s.Next(t)
				if n.IsZero() || n.After(now) {
					return t
				}
				t = n
			}
		}
		if from.Equal(since) {
			return first
		}
	}
}

// runState is what the scheduler knows of one scheduled name.
type runState struct {
	sched spec.Schedule
	key   string // the expression and zone sched is for
	// since is the time after which schedule times are due: the start of
	// the last run, a run skipped or missed, or when the spec was first
	// seen.
	since           time.Time
	missed, skipped int
	timer           *time.Timer
}

// scheduler decides when scheduled names run, and wakes them then. It is
// safe for concurrent use.
type scheduler struct {
	mu   sync.Mutex
	runs map[string]*runState
	wake func(name string)
}

func newScheduler(wake func(string)) *scheduler {
	return &scheduler{runs: make(map[string]*runState), wake: wake}
}

// lastStart returns the latest start time of actual's containers.
func lastStart(actual []driver.Container) time.Time {
	var t time.Time
	for _, c := range actual {
		if c.StartedAt.After(t) {
			t = c.StartedAt
		}
	}
	return t
}

// stateLocked returns name's state for d, made or brought up to date with
// what the containers' records say.
func (s *scheduler) stateLocked(name string, d *Decision, actual []driver.Container, now time.Time) (*runState, error) {
	sp := d.Spec.Spec
	key := sp.Schedule + "\x00" + sp.TimeZone
	st := s.runs[name]
	if st == nil || st.key != key {
		sched, err := spec.ParseSchedule(sp.Schedule, sp.TimeZone)
		if err != nil {
			return nil, err
		}
		if st == nil {
			st = &runState{since: now}
			if t := lastStart(actual); !t.IsZero() {
				st.since = t
			}
			s.runs[name] = st
		}
		st.sched, st.key = sched, key
	}
	if t := lastStart(actual); t.After(st.since) {
		st.since = t
	}
	return st, nil
}

// decide says whether a run of name is due at now; a due run that is
// missed (past the starting deadline) or skipped (the previous one runs,
// under forbid) is recorded as such and reported in event.
func (s *scheduler) decide(name string, d *Decision, actual []driver.Container, now time.Time) (run runNow, event string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.stateLocked(name, d, actual, now)
	if err != nil {
		return runNow{}, "", err
	}
	t := latestDue(st.sched, st.since, now)
	if t.IsZero() {
		return runNow{}, "", nil
	}
	sp := d.Spec.Spec
	if dl := time.Duration(sp.StartingDeadline); dl > 0 && now.Sub(t) > dl {
		st.since = t
		st.missed++
		return runNow{}, fmt.Sprintf("the run of %s is missed: it is %s late, past startingDeadline %s", t.Format(time.RFC3339), now.Sub(t).Round(time.Second), dl), nil
	}
	for _, c := range actual {
		if c.State != driver.StateRunning {
			continue
		}
		if sp.ConcurrencyPolicy == spec.ConcurrencyReplace {
			return runNow{due: true, at: t, replace: true}, "", nil
		}
		st.since = t
		st.skipped++
		return runNow{}, fmt.Sprintf("the run of %s is skipped: container %s still runs (concurrencyPolicy forbid)", t.Format(time.RFC3339), c.ID), nil
	}
	return runNow{due: true, at: t}, "", nil
}

// ran records that the run due at was started at now.
func (s *scheduler) ran(name string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.runs[name]; st != nil && now.After(st.since) {
		st.since = now
	}
}

// arm makes sure name is woken at its next run time, and returns it.
func (s *scheduler) arm(name string, now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.runs[name]
	if st == nil {
		return time.Time{}
	}
	next := st.sched.Next(st.since)
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
	if !next.IsZero() {
		st.timer = time.AfterFunc(next.Sub(now), func() { s.wake(name) })
	}
	return next
}

// forget drops what the scheduler knows of name, when it is not (or no
// longer) a scheduled spec.
func (s *scheduler) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.runs[name]; st != nil {
		if st.timer != nil {
			st.timer.Stop()
		}
		delete(s.runs, name)
	}
}

// stop stops every timer, when the engine stops.
func (s *scheduler) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.runs {
		if st.timer != nil {
			st.timer.Stop()
			st.timer = nil
		}
	}
}

// scheduleView is the scheduler's part of a name's ScheduleStatus.
type scheduleView struct {
	zone            string
	next            time.Time
	missed, skipped int
}

func (s *scheduler) views() map[string]scheduleView {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]scheduleView, len(s.runs))
	for n, st := range s.runs {
		m[n] = scheduleView{zone: st.sched.Location().String(), next: st.sched.Next(st.since), missed: st.missed, skipped: st.skipped}
	}
	return m
}

// scheduleStatus is the ScheduleStatus of scheduled decision d with the
// containers actual and the scheduler's view v (zero before the
// scheduler has seen the name). It is pure.
func scheduleStatus(d *Decision, actual []driver.Container, v scheduleView) *ScheduleStatus {
	sp := d.Spec.Spec
	ss := &ScheduleStatus{Schedule: sp.Schedule, TimeZone: v.zone, ConcurrencyPolicy: sp.ConcurrencyPolicy,
		LastRun: lastStart(actual), NextRun: v.next, Missed: v.missed, Skipped: v.skipped}
	var finished time.Time
	for _, c := range actual {
		if c.State == driver.StateExited && !c.FinishedAt.Before(finished) {
			code := c.ExitCode
			ss.LastExitCode, finished = &code, c.FinishedAt
		}
	}
	return ss
}

// reconcileScheduled is Reconcile for a scheduled name: it makes the run
// due now, if any, and has the name woken at its next run time.
func (r *containerReconciler) reconcileScheduled(ctx context.Context, ds *desiredState, name string, d *Decision, actual []driver.Container) (Result, error) {
	now := time.Now()
	run, event, err := r.sched.decide(name, d, actual, now)
	if err != nil {
		return Result{}, TerminalError(fmt.Errorf("schedule of %s: %w", name, err))
	}
	if event != "" {
		r.log.Warn("scheduled run not made", "spec", name, "why", event)
	}
	for _, a := range planScheduled(name, d, actual, run) {
		if wait := r.networkWait(name, d, a); wait > 0 {
			return Result{RequeueAfter: wait}, nil
		}
		if wait := r.dependsWait(ds, name, d, a); wait > 0 {
			return Result{RequeueAfter: wait}, nil
		}
		if wait := r.imageWait(ctx, name, a); wait > 0 {
			return Result{RequeueAfter: wait}, nil
		}
		if a.Restart {
			if wait := r.crashWait(name, actual, a.ID); wait > 0 {
				return Result{RequeueAfter: wait}, nil
			}
		}
		if err := r.do(ctx, d, a); err != nil {
			return Result{}, r.classify(err)
		}
		if a.Restart {
			r.restarts.restarted(name)
			r.obs.Restarted(name)
		}
	}
	if run.due {
		r.sched.ran(name, time.Now())
		r.log.Info("scheduled run started", "spec", name, "scheduled_for", run.at.Format(time.RFC3339))
	}
	next := r.sched.arm(name, time.Now())
	r.log.Debug("next scheduled run", "spec", name, "at", next)
	return Result{}, nil
}

// scheduledHook is the Reconcile of a scheduled name; for any other, it
// forgets its schedule and reports ok false.
func (r *containerReconciler) scheduledHook(ctx context.Context, ds *desiredState, name string, d *Decision, actual []driver.Container) (res Result, ok bool, err error) {
	if !scheduled(d) {
		r.sched.forget(name)
		return Result{}, false, nil
	}
	res, err = r.reconcileScheduled(ctx, ds, name, d, actual)
	return res, true, err
}
