package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/isoagent/isoagent/driver"
)

// PruneBudget bounds how many containers one change of the desired state
// may prune (remove for lack of a spec, or because their spec no longer
// applies to this host). A change over the budget prunes nothing: every
// container keeps running and the prune waits for ConfirmPrune or for a
// change that fits. The zero value is DefaultPrunePercent.
type PruneBudget struct {
	// Count, when positive, is the most one change may prune.
	Count int
	// Percent, when Count is zero, is the most one change may prune as a
	// percentage of the containers the agent owns (rounded down); zero
	// means DefaultPrunePercent. At least one container may always be
	// pruned.
	Percent int
}

// DefaultPrunePercent is the budget of a zero PruneBudget.
const DefaultPrunePercent = 50

// ParsePruneBudget reads a budget as --max-prune takes it: a number of
// containers ("5") or a percentage of the owned ones ("50%").
func ParsePruneBudget(s string) (PruneBudget, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100 {
			return PruneBudget{}, fmt.Errorf("%q: want a percentage from 1%% to 100%%", s)
		}
		return PruneBudget{Percent: n}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return PruneBudget{}, fmt.Errorf("%q: want a number of containers (at least 1) or a percentage such as 50%%", s)
	}
	return PruneBudget{Count: n}, nil
}

// Allowed returns how many containers a change may prune when the agent
// owns owned.
func (b PruneBudget) Allowed(owned int) int {
	if b.Count > 0 {
		return b.Count
	}
	pct := b.Percent
	if pct <= 0 {
		pct = DefaultPrunePercent
	}
	return max(1, owned*pct/100)
}

func (b PruneBudget) String() string {
	if b.Count > 0 {
		return strconv.Itoa(b.Count)
	}
	if b.Percent <= 0 {
		return strconv.Itoa(DefaultPrunePercent) + "%"
	}
	return strconv.Itoa(b.Percent) + "%"
}

// describe says what the budget allows, for messages.
func (b PruneBudget) describe(owned int) string {
	if b.Count > 0 {
		return fmt.Sprintf("the budget of %d (--max-prune %s)", b.Count, b)
	}
	return fmt.Sprintf("the budget of %d (--max-prune %s of the %d containers this agent owns)", b.Allowed(owned), b, owned)
}

// PendingPrune is a prune the engine holds back: the names whose
// containers it would remove, and why it waits.
type PendingPrune struct {
	// ID identifies this set of names; ConfirmPrune takes it, so that a
	// confirmation never applies to a set that changed since it was read.
	ID     string   `json:"id"`
	Names  []string `json:"names"`
	Budget int      `json:"budget"`
	Owned  int      `json:"owned"`
	Reason string   `json:"reason"`
}

// Errors of ConfirmPrune.
var (
	ErrNoPendingPrune = errors.New("no prune is pending")
	ErrPruneChanged   = errors.New("the pending prune changed")
)

func pruneID(names []string) string {
	h := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return hex.EncodeToString(h[:6])
}

// keptOnPrune reports whether a name's containers are marked to be kept
// when their spec is deleted (all of them: a mark is per config).
func keptOnPrune(cs []driver.Container) bool {
	if len(cs) == 0 {
		return false
	}
	for _, c := range cs {
		if !c.KeepOnPrune {
			return false
		}
	}
	return true
}

// pruneCandidates returns, sorted, the cached names whose containers the
// decisions would have removed: those without a decision when orphans
// may be pruned, and those whose spec is not for this host. Names kept
// by their mark are left out.
func pruneCandidates(decisions map[string]*Decision, orphans bool, cached map[string][]driver.Container) []string {
	var out []string
	for name, cs := range cached {
		if isPruneCandidate(decisions[name], orphans, cs) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// isPruneCandidate reports whether the cached containers cs of a name
// whose decision is d may be removed, before the prune budget.
func isPruneCandidate(d *Decision, orphans bool, cs []driver.Container) bool {
	if len(cs) == 0 {
		return false
	}
	switch {
	case d == nil && orphans && !keptOnPrune(cs):
	case d != nil && !d.Admitted() && d.Rejection.Reason == ReasonNotForThisHost:
	default:
		return false
	}
	return true
}

// overBudget says why the prune of names (sorted) must wait, or "" when
// it may go on: the budget, or hold (a reason that holds any prune, such
// as a changed spec folder) unless confirmed holds every name.
func overBudget(names []string, owned int, b PruneBudget, hold string, confirmed map[string]bool) string {
	if len(names) == 0 {
		return ""
	}
	if confirmed != nil && !slices.ContainsFunc(names, func(n string) bool { return !confirmed[n] }) {
		return ""
	}
	if hold != "" {
		return hold
	}
	if allowed := b.Allowed(owned); len(names) > allowed {
		return fmt.Sprintf("this change would remove %d containers, more than %s", len(names), b.describe(owned))
	}
	return ""
}

// pruneGuard keeps what the engine knows of prunes across admissions: the
// budget, a hold set at start, the confirmed names and the prune pending.
// It is safe for concurrent use.
type pruneGuard struct {
	mu        sync.Mutex
	budget    PruneBudget
	hold      string
	onRelease func()
	confirmed map[string]bool
	pending   *PendingPrune
}

// decide returns whether the prune of names may go on, and the pending
// prune when it may not. newPending reports a pending prune other than
// the one before, to be logged once.
func (g *pruneGuard) decide(names []string, owned int) (ok bool, pending *PendingPrune, newPending bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.confirmed != nil && slices.ContainsFunc(names, func(n string) bool { return !g.confirmed[n] }) {
		g.confirmed = nil // a change since: it needs a confirmation of its own
	}
	why := overBudget(names, owned, g.budget, g.hold, g.confirmed)
	if why == "" {
		if g.hold != "" {
			g.hold = "" // confirmed, or nothing to prune on the new folder
			if g.onRelease != nil {
				g.onRelease()
			}
		}
		if len(names) == 0 {
			g.confirmed = nil
		}
		g.pending = nil
		return true, nil, false
	}
	p := &PendingPrune{ID: pruneID(names), Names: names, Budget: g.budget.Allowed(owned), Owned: owned, Reason: why}
	newPending = g.pending == nil || g.pending.ID != p.ID
	g.pending = p
	return false, p, newPending
}

// confirm lets the pending prune with id go on at the next admission.
func (g *pruneGuard) confirm(id string) (*PendingPrune, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.pending
	switch {
	case p == nil:
		return nil, ErrNoPendingPrune
	case p.ID != id:
		return nil, fmt.Errorf("%w: it is %s now (%d containers), not %s; look at it again", ErrPruneChanged, p.ID, len(p.Names), id)
	}
	g.confirmed = make(map[string]bool, len(p.Names))
	for _, n := range p.Names {
		g.confirmed[n] = true
	}
	return p, nil
}

func (g *pruneGuard) pendingPrune() *PendingPrune {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pending
}
