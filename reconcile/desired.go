package reconcile

import (
	"fmt"
	"slices"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// desiredState is the desired state in force: the snapshot admitted last,
// the decision for each name it declares, and whether owned containers
// without a spec may be pruned. Once published it is never changed; a nil
// *desiredState is the state before the first admission (nothing desired,
// nothing pruned).
type desiredState struct {
	snap      *spec.Snapshot
	decisions map[string]*Decision
	prune     bool
	// pruneOK holds the names whose containers may be removed, for lack
	// of a spec or because it is not for this host: the prune candidates
	// of the admission, when they fit the prune budget. A name not in it
	// is never pruned, even if a relist since shows it prunable.
	pruneOK map[string]bool
	// gen is the generation of the admissions pass decisions come from
	// (see admitResult); zero when they come from elsewhere.
	gen uint64
}

func (s *desiredState) decision(name string) *Decision {
	if s == nil {
		return nil
	}
	return s.decisions[name]
}

func (s *desiredState) pruning() bool { return s != nil && s.prune }

// mayPrune reports whether name's containers may be removed now.
func (s *desiredState) mayPrune(name string) bool { return s != nil && s.pruneOK[name] }

// plan is planKey for name under s.
func (s *desiredState) plan(name string, actual []driver.Container) []Action {
	return planKey(name, s.decision(name), actual, s.mayPrune(name))
}

// desiredChange is what admitting a snapshot does to the desired state.
type desiredChange struct {
	next *desiredState
	// changed lists the names whose desired state changed.
	changed []string
	// rejected lists the decisions newly rejected, or rejected for a new
	// reason, to be reported once.
	rejected []*Decision
	// cond says why the snapshot is not applied or pruning is off, when
	// it is so (see folderRule).
	cond Condition
}

// nextDesired applies the decisions admission made for snap to the desired
// state prev, as folderRule says: a snapshot it does not apply leaves the
// previous decisions in force and prunes nothing. When pruning is turned
// on or off, every name cached lists (cached is called only then) changes
// too. It is pure.
func nextDesired(prev *desiredState, snap *spec.Snapshot, ds []Decision, allowEmpty bool, cached func() []string) desiredChange {
	decisions := make(map[string]*Decision, len(ds))
	for i := range ds {
		decisions[ds[i].Name()] = &ds[i]
	}
	return nextAdmitted(prev, snap, admitResult{decisions: decisions, full: true}, allowEmpty, cached)
}

// nextAdmitted is nextDesired for the outcome of an admissions pass. When
// the pass names what changed since the decisions in force (its base is
// their generation), only those names are compared, so that a change of
// one spec costs one comparison, not one per spec.
func nextAdmitted(prev *desiredState, snap *spec.Snapshot, r admitResult, allowEmpty bool, cached func() []string) desiredChange {
	apply, prune, cond := folderRule(snap, allowEmpty)
	var old map[string]*Decision
	if prev != nil {
		old = prev.decisions
	}
	if !apply {
		ds := &desiredState{snap: snap, decisions: old}
		if prev != nil {
			ds.gen = prev.gen
		}
		return desiredChange{next: ds, cond: cond}
	}
	ch := desiredChange{cond: cond}
	next := r.decisions
	compare := func(name string) {
		d, was := next[name], old[name]
		if sameDecision(was, d) {
			return
		}
		ch.changed = append(ch.changed, name)
		if d != nil && !d.Admitted() && (was == nil || was.Admitted() || was.Rejection.Message != d.Rejection.Message) {
			ch.rejected = append(ch.rejected, d)
		}
	}
	if r.full || prev == nil || prev.gen != r.base {
		for name := range next {
			compare(name)
		}
		for name := range old {
			if next[name] == nil {
				compare(name)
			}
		}
	} else {
		for _, name := range r.changed {
			compare(name)
		}
	}
	if prune != prev.pruning() {
		ch.changed = append(ch.changed, cached()...)
	}
	ch.next = &desiredState{snap: snap, decisions: next, prune: prune, gen: r.gen}
	return ch
}

// sameDecision reports whether two decisions for a name ask the same of
// the host: the same rejection, or the same config hash, restart policy,
// stop timeout and update (a failed rollout is tried again when its
// update changes).
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
	return a.Config.Hash == b.Config.Hash && sameRuns(a, b) &&
		a.Spec.Spec.RestartPolicy == b.Spec.Spec.RestartPolicy &&
		a.Spec.Spec.StopTimeout == b.Spec.Spec.StopTimeout &&
		a.Spec.Spec.Update.Equal(b.Spec.Spec.Update)
}

// allKeys returns every name with a decision or with cached containers,
// sorted.
func allKeys(s *desiredState, cached []string) []string {
	var decisions map[string]*Decision
	if s != nil {
		decisions = s.decisions
	}
	keys := make([]string, 0, len(decisions)+len(cached))
	for n := range decisions {
		keys = append(keys, n)
	}
	for _, n := range cached {
		if decisions[n] == nil {
			keys = append(keys, n)
		}
	}
	slices.Sort(keys)
	return keys
}

// folderRule is the one rule for what a snapshot of the spec folder does to
// the desired state in force; the engine and PlanRun both follow it (and
// loadFailed for a folder that could not be read at all).
//
// A snapshot that declares no specs is not applied unless allowEmpty is
// set: the previous decisions stay and nothing is pruned, since a missing
// or wiped folder must not take the host down. A snapshot with an invalid
// file whose names are unknown is applied but prunes nothing: its specs
// may be the containers without one. cond says why, when apply or prune is
// off.
func folderRule(snap *spec.Snapshot, allowEmpty bool) (apply, prune bool, cond Condition) {
	if len(snap.Specs) == 0 && !allowEmpty {
		return false, false, Condition{Type: CondEmptyIgnored, Message: fmt.Sprintf("%s declares no containers; nothing is pruned (--allow-empty applies an empty folder)", snap.Dir)}
	}
	var unknown []string
	for _, f := range snap.Files {
		if !f.Valid() && len(f.Names) == 0 {
			unknown = append(unknown, f.Path)
		}
	}
	if len(unknown) > 0 {
		return true, false, Condition{Type: CondPruneSuspended, Message: fmt.Sprintf("the specs of invalid files %q are unknown; containers without a spec are kept until they load", unknown)}
	}
	return true, true, Condition{}
}

// loadFailed is the condition of a spec folder that cannot be read (it is
// missing, or not a folder): nothing is applied, and the desired state in
// force stays.
func loadFailed(err error) Condition {
	return Condition{Type: CondLoadFailed, Message: err.Error() + "; the previous desired state stays in force"}
}
