package reconcile

import (
	"maps"
	"slices"
	"sync"

	"github.com/isoagent/isoagent/driver"
)

// pruneCands keeps the prune candidates of the last admission (names
// whose containers may be removed, before the prune budget), so that the
// next admission looks again only at the names it changed the decision
// of and the names whose cached containers came, went, or changed their
// keep mark since: at 10,000 specs a pass over every cached name at each
// edit cost about 8 ms of the edit's way to its action. A change of the
// folder's prune rule, or a first admission, looks at every name.
type pruneCands struct {
	mu    sync.Mutex
	dirty map[string]bool // names written in the cache since the last look, in a way that matters

	// Used by Run's goroutine only.
	names  map[string]bool // the candidates as of the last look
	valid  bool
	orphan bool // whether the names without a decision were candidates
}

func newPruneCands() *pruneCands {
	return &pruneCands{dirty: make(map[string]bool), names: make(map[string]bool)}
}

// written is the host cache's hook (under its lock): it notes a name
// whose containers came, went or changed their keep mark.
func (p *pruneCands) written(name string, old, list []driver.Container) {
	if (len(old) == 0) == (len(list) == 0) && keptOnPrune(old) == keptOnPrune(list) {
		return
	}
	p.mu.Lock()
	p.dirty[name] = true
	p.mu.Unlock()
}

// candidates returns the prune candidates, sorted, under decisions and
// the cache as they are now; changed are the names whose decision changed
// since the last call, orphans whether names without a decision are
// candidates.
func (p *pruneCands) candidates(decisions map[string]*Decision, orphans bool, changed []string, cache *hostCache) []string {
	p.mu.Lock()
	dirty := p.dirty
	p.dirty = make(map[string]bool)
	p.mu.Unlock()
	if !p.valid || orphans != p.orphan {
		p.names = make(map[string]bool)
		for _, n := range pruneCandidates(decisions, orphans, cache.snapshot()) {
			p.names[n] = true
		}
		p.valid, p.orphan = true, orphans
		return slices.Sorted(maps.Keys(p.names))
	}
	look := func(n string) {
		if isPruneCandidate(decisions[n], orphans, cache.Get(n)) {
			p.names[n] = true
		} else {
			delete(p.names, n)
		}
	}
	for _, n := range changed {
		look(n)
	}
	for n := range dirty {
		look(n)
	}
	return slices.Sorted(maps.Keys(p.names))
}
