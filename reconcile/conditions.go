package reconcile

import (
	"maps"
	"slices"
	"sync"
)

// conditions are the engine-wide conditions that hold now. It is safe for
// concurrent use.
type conditions struct {
	mu sync.Mutex
	m  map[ConditionType]string // type -> message
}

func newConditions() *conditions { return &conditions{m: make(map[ConditionType]string)} }

// set makes t hold with msg and reports whether it held already.
func (c *conditions) set(t ConditionType, msg string) (held bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, held = c.m[t]
	c.m[t] = msg
	return held
}

// clear ends t and reports whether it held.
func (c *conditions) clear(t ConditionType) (held bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, held = c.m[t]
	delete(c.m, t)
	return held
}

// list returns the conditions that hold, by type.
func (c *conditions) list() []Condition {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Condition
	for _, t := range slices.Sorted(maps.Keys(c.m)) {
		out = append(out, Condition{Type: t, Message: c.m[t]})
	}
	return out
}

// Conditions returns the engine-wide conditions that hold now, as
// Status.Conditions has them, without building a Status: for metrics read
// at every scrape.
func (e *Engine) Conditions() []Condition { return e.conds.list() }
