package reconcile

import (
	"fmt"
	"slices"
	"strings"
)

// guardPrune decides, for the desired state next about to replace prev,
// which names may be pruned (next.pruneOK) under the prune budget, sets
// or clears CondPruneHeld, and returns the names whose prunability
// changed, for the caller to enqueue. changed are the names whose
// decision differs between prev and next.
func (e *Engine) guardPrune(prev, next *desiredState, changed []string) []string {
	cands := e.prunes.candidates(next.decisions, next.prune, changed, e.cache)
	ok, pending, fresh := e.guard.decide(cands, e.cache.Len())
	if ok {
		next.pruneOK = make(map[string]bool, len(cands))
		for _, n := range cands {
			next.pruneOK[n] = true
		}
		if e.conds.clear(CondPruneHeld) {
			e.log.Info("the held prune goes on, or is no longer needed", "prune", cands)
		}
	} else {
		msg := fmt.Sprintf("%s; nothing is pruned and every container keeps running (would remove: %s) until 'isoagent prune --confirm' or a change that prunes at most %d",
			pending.Reason, strings.Join(pending.Names, ", "), pending.Budget)
		e.conds.set(CondPruneHeld, msg)
		if fresh {
			e.log.Warn("prune held", "reason", pending.Reason, "would_remove", pending.Names, "budget", pending.Budget, "owned", pending.Owned, "id", pending.ID)
		}
	}
	// Only a name in either state's pruneOK can have changed.
	var flipped []string
	for _, s := range []*desiredState{prev, next} {
		if s == nil {
			continue
		}
		for n := range s.pruneOK {
			if prev.mayPrune(n) != next.mayPrune(n) && len(e.cache.Get(n)) > 0 && !slices.Contains(flipped, n) {
				flipped = append(flipped, n)
			}
		}
	}
	return flipped
}

// PendingPrune returns the prune the engine holds back, nil when none.
func (e *Engine) PendingPrune() *PendingPrune { return e.guard.pendingPrune() }

// ConfirmPrune lets the pending prune whose ID is id go on: the desired
// state is admitted again at once and its containers removed. It wraps
// ErrNoPendingPrune when nothing is pending and ErrPruneChanged when the
// pending prune is another one now (its set of names changed). A
// confirmation covers exactly those names: a later change that would prune
// more is held again.
func (e *Engine) ConfirmPrune(id string) (*PendingPrune, error) {
	p, err := e.guard.confirm(id)
	if err != nil {
		return nil, err
	}
	e.log.Warn("prune confirmed", "id", p.ID, "remove", p.Names)
	if gen, ok := e.intake.touch(); ok {
		e.track.desire(gen)
		e.wake()
	}
	return p, nil
}
