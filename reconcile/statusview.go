package reconcile

import (
	"fmt"
	"slices"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// statusInput is everything a Status is built from, read from the engine's
// parts at one moment.
type statusInput struct {
	host    driver.Host
	tracker trackerView
	conds   []Condition
	desired *desiredState
	cache   map[string][]driver.Container
	// restarts holds, by name, the restart counts and held-back restarts.
	restarts map[string]restartView
	// pulls holds the image pulls, by pullKey.
	pulls map[string]PullState
	// exits holds, by name, the last exit.
	exits map[string]LastExit
	// schedules holds the scheduler's views of scheduled names.
	schedules map[string]scheduleView
	// health holds the health of the probed containers, by ID.
	health map[string]HealthView
	// rollouts holds, by name, the rollouts in progress or failed.
	rollouts map[string]rollout
	now      time.Time
	pending  *PendingPrune
	budget   PruneBudget
}

// buildStatus builds the status of the engine from in. It is pure.
func buildStatus(in statusInput) Status {
	st := Status{
		Host:          in.host,
		Ready:         in.tracker.ready,
		Converged:     in.tracker.converged,
		LastReconcile: in.tracker.lastOK,
		Conditions:    in.conds,
		Containers:    []ContainerStatus{},
		PendingPrune:  in.pending,
		PruneBudget:   in.budget.Allowed(len(in.cache)),
	}
	stale := make(map[string]string)
	losers := make(map[string][]spec.Conflict)
	if in.desired != nil {
		s := in.desired.snap
		st.Dir, st.Revision, st.LoadedAt, st.Conflicts = s.Dir, s.Revision, s.LoadedAt, s.Conflicts
		st.RevisionChanges = s.Changes
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
	cached := make([]string, 0, len(in.cache))
	for n := range in.cache {
		cached = append(cached, n)
	}
	for _, name := range allKeys(in.desired, cached) {
		st.Containers = append(st.Containers, containerStatus(in, name, stale[name], losers[name]))
	}
	return st
}

// pullFailure says how a pull failed and when it is tried again.
func pullFailure(p PullState, now time.Time) string {
	msg := fmt.Sprintf("pulling %s failed", p.Ref)
	if p.Attempts > 1 {
		msg += fmt.Sprintf(" %d times", p.Attempts)
	}
	msg += ": " + p.Error
	if !p.RetryAt.IsZero() {
		if p.RetryAt.After(now) {
			msg += fmt.Sprintf("; trying again at %s", p.RetryAt.Format(time.RFC3339))
		} else {
			msg += "; trying again now"
		}
	}
	return msg
}

// containerStatus is the status of one name; staleFile is the invalid file
// whose last-known-good spec it runs, losers the specs that lost it.
func containerStatus(in statusInput, name, staleFile string, losers []spec.Conflict) ContainerStatus {
	cs := ContainerStatus{Name: name, LastError: in.tracker.lastErr[name]}
	d := in.desired.decision(name)
	actual := in.cache[name]
	rs := in.restarts[name]
	cs.RestartCount = rs.count
	if x, ok := in.exits[name]; ok {
		cs.LastExit = &x
	}
	var current *driver.Container
	if d != nil {
		cs.Source = d.Spec.Source
		cs.RequestedIsolation = string(d.Spec.Spec.Isolation)
		if cs.RequestedIsolation == "" {
			cs.RequestedIsolation = string(spec.IsolationDefault)
		}
		cs.Image = d.Spec.Spec.Image.String()
		cs.ImageOSVersion = d.ImageOS
		cs.CredentialSpec = d.Spec.Spec.CredentialSpec
		cs.Ports = d.Spec.Spec.Ports
		cs.Warnings = d.Warnings
		if d.Admitted() {
			cs.EffectiveIsolation = d.Config.Isolation
			cs.ImageDigest = d.Config.ImageDigest
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
	pulling := waitsForRegistry(d)
	if d != nil && d.Admitted() && current == nil {
		if p, ok := in.pulls[pullKey(d.Config.Image, d.Config.ImageDigest)]; ok && !p.Ready {
			cs.Pull, pulling = &p, true
			if p.Error != "" {
				cs.Conditions = append(cs.Conditions, Condition{Type: CondImagePullFailed, Message: pullFailure(p, in.now)})
			}
		}
	}
	if current == nil && len(actual) > 0 && (d == nil || !d.Admitted() || pulling || rolloutHeld(in.rollouts, name, d)) {
		current = &actual[0]
	}
	if current != nil && current.ImageDigest != "" && !pulling {
		cs.ImageDigest = current.ImageDigest // what runs, when that is known
	}
	if current != nil {
		cs.ContainerID = current.ID
		cs.ContainerState = current.State
		// The host keeps the count across agents; this agent's own count
		// covers hosts that keep none.
		cs.RestartCount = max(cs.RestartCount, current.RestartCount)
		cs.InitPID = current.InitPID
		cs.UtilityVM = current.UtilityVM
		if h, ok := in.health[current.ID]; ok && current.State == driver.StateRunning {
			cs.Health = &h
		}
		if cs.EffectiveIsolation == "" {
			cs.EffectiveIsolation = current.Isolation
		}
	}
	if scheduled(d) {
		cs.Schedule = scheduleStatus(d, actual, in.schedules[name])
	}
	if ro, ok := in.rollouts[name]; ok {
		rolloutConditions(&cs, ro, d)
	}
	var waiting string
	if d != nil && d.Admitted() && !scheduled(d) && (current == nil || current.State == driver.StateCreated) {
		waiting = waitingFor(in.desired, func(n string) []driver.Container { return in.cache[n] }, in.healthOf, d)
	}
	switch {
	case pulling:
		cs.State = StatePulling
		if !d.Admitted() && !d.LookupPending {
			cs.Conditions = append(cs.Conditions, Condition{Type: CondImagePullFailed, Message: d.Rejection.Message})
		}
		if current != nil {
			cs.Conditions = append(cs.Conditions, Condition{Type: CondKeptRunning, Message: fmt.Sprintf("container %s (%s) is left as it is until the new image is pulled", current.ID, current.State)})
			if current.State == driver.StateRunning {
				cs.Since = current.StartedAt
			}
		}
	case d != nil && !d.Admitted():
		switch d.Rejection.Reason {
		case ReasonConflict:
			cs.State = StateConflict
		case ReasonInvalid:
			cs.State = StateInvalid
		case ReasonNotForThisHost:
			// What runs of it here is removed, or kept while pruning is
			// suspended or held, as a container without a spec is.
			switch {
			case len(actual) == 0:
				cs.State = StateElsewhere
			case in.desired.mayPrune(name):
				cs.State = StateRemoving
			default:
				cs.State = StateOrphaned
			}
		default:
			cs.State = StateRejected
		}
		if current != nil && cs.State != StateRemoving && cs.State != StateOrphaned {
			cs.Conditions = append(cs.Conditions, Condition{Type: CondKeptRunning, Message: keptRunning(in, d, current)})
		}
	case d == nil && keptOnPrune(actual):
		cs.State = StateOrphanedKept
	case d == nil && in.desired.mayPrune(name):
		cs.State = StateRemoving
	case d == nil:
		cs.State = StateOrphaned
		if in.pending != nil && slices.Contains(in.pending.Names, name) {
			cs.Conditions = append(cs.Conditions, Condition{Type: CondPruneHeld, Message: "its spec is gone; it is kept while the prune is held"})
		}
	case waiting != "":
		cs.State = StateWaiting
		cs.Conditions = append(cs.Conditions, Condition{Type: CondWaiting, Message: waiting})
		if current != nil {
			cs.Since = current.CreatedAt
		}
	case current == nil && cs.Schedule != nil:
		cs.State = StateScheduled
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
		if rs.waiting.After(in.now) {
			cs.NextRestart = rs.waiting
			cs.Conditions = append(cs.Conditions, Condition{Type: CondCrashLoop, Message: fmt.Sprintf("restarted %d times; next restart at %s", rs.count, rs.waiting.Format(time.RFC3339))})
		}
	default:
		cs.State = StatePending
		cs.Since = current.CreatedAt
	}
	return cs
}

// keptRunning is the message of CondKeptRunning for current, the
// container kept of d, a refused spec. A spec refused because the spec
// whose network it shares is refused has nothing to fix itself: both
// containers are kept as they are, and the owner's spec is the one to fix.
func keptRunning(in statusInput, d *Decision, current *driver.Container) string {
	owner := d.Spec.Spec.Network.SharedWith()
	if od := in.desired.decision(owner); owner != "" && od != nil && !od.Admitted() && od.Rejection.Reason != ReasonNotForThisHost {
		if oc := in.cache[owner]; len(oc) > 0 {
			return fmt.Sprintf("container %s (%s) is left as it is, in the network of %s's container %s (%s), which is kept while %s's spec is rejected (%s); fix %s's spec, not this one",
				current.ID, current.State, owner, oc[0].ID, oc[0].State, owner, od.Rejection.Reason, owner)
		}
		return fmt.Sprintf("container %s (%s) is left as it is while %s's spec is rejected (%s); fix %s's spec, not this one", current.ID, current.State, owner, od.Rejection.Reason, owner)
	}
	return fmt.Sprintf("container %s (%s) is left as it is until the spec is fixed", current.ID, current.State)
}

// healthOf tells the health of container id as in.health has it.
func (in statusInput) healthOf(id string) (HealthState, bool) {
	h, ok := in.health[id]
	return h.State, ok
}
