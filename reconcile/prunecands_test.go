package reconcile

import (
	"maps"
	"slices"
	"testing"

	"github.com/isoagent/isoagent/driver"
)

// The prune candidates kept from one admission to the next, looking only
// at what changed, are those a look at every name finds, whatever
// changed: decisions, cached containers, their keep marks, the rule.
func TestPruneCandidatesFollowWhatChanged(t *testing.T) {
	admitted := &Decision{}
	elsewhere := &Decision{Rejection: &Rejection{Reason: ReasonNotForThisHost}}
	refused := &Decision{Rejection: &Rejection{Reason: ReasonVersionMismatch}}
	ctrs := func(name string, keep bool) []driver.Container {
		return []driver.Container{{ID: name + "-1", Name: name, State: driver.StateRunning, KeepOnPrune: keep}}
	}
	type step struct {
		name    string
		decide  map[string]*Decision // decisions set (nil value: the spec is gone)
		cache   map[string][]driver.Container
		orphans bool
	}
	steps := []step{
		{name: "start", decide: map[string]*Decision{"a": admitted, "b": admitted, "c": refused}, cache: map[string][]driver.Container{"a": ctrs("a", false), "b": ctrs("b", false), "c": ctrs("c", false), "o": ctrs("o", false)}, orphans: true},
		{name: "a's spec deleted", decide: map[string]*Decision{"a": nil}},
		{name: "b not for this host", decide: map[string]*Decision{"b": elsewhere}},
		{name: "an orphan found by a relist", cache: map[string][]driver.Container{"p": ctrs("p", false)}},
		{name: "an orphan kept on prune", cache: map[string][]driver.Container{"q": ctrs("q", true)}},
		{name: "the kept orphan's keep mark gone", cache: map[string][]driver.Container{"q": ctrs("q", false)}},
		{name: "an orphan removed", cache: map[string][]driver.Container{"o": nil}},
		{name: "a's spec back", decide: map[string]*Decision{"a": admitted}},
		{name: "the folder prunes no orphans", orphans: false},
		{name: "and again", orphans: true},
		{name: "b for this host again, c refused otherwise", decide: map[string]*Decision{"b": admitted, "c": elsewhere}},
	}
	p := newPruneCands()
	cache := newHostCache()
	cache.onWrite = p.written
	decisions := map[string]*Decision{}
	orphans := false
	for _, s := range steps {
		decisions = maps.Clone(decisions)
		var changed []string
		for n, d := range s.decide {
			if d == nil {
				delete(decisions, n)
			} else {
				decisions[n] = d
			}
			changed = append(changed, n)
		}
		for n, list := range s.cache {
			cache.Write(cache.Begin(), n, replaceWith(list))
		}
		if s.name == "start" || s.decide == nil && s.cache == nil {
			orphans = s.orphans
		}
		got := p.candidates(decisions, orphans, changed, cache)
		want := pruneCandidates(decisions, orphans, cache.snapshot())
		if !slices.Equal(got, want) {
			t.Errorf("after %q: candidates %v, want %v", s.name, got, want)
		}
	}
}
