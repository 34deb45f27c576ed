package reconcile

import (
	"slices"
	"sync"

	"github.com/isoagent/isoagent/driver"
)

// hostCache is the engine's view of the containers it owns on the host, by
// spec name, so that a reconcile need not list the host. Everything that
// learns about the host writes it through Write: relists, the workers after
// each driver step they take, and (later) driver events. Each write carries
// the version at which the look it reports began (Begin), and a write is
// dropped for a name that a look begun later has written already: a relist
// that began before a worker acted cannot put back what the worker changed.
//
// The lists it holds and hands out are never changed in place; a write
// replaces a name's list. It is safe for concurrent use.
type hostCache struct {
	mu      sync.Mutex
	seq     uint64
	byName  map[string][]driver.Container
	asOf    map[string]uint64 // name -> version of the look that wrote it last
	running map[string]int    // container ID -> cached containers with it that run
	// changes counts the writes that changed what planning looks at.
	changes uint64
}

func newHostCache() *hostCache {
	return &hostCache{
		byName:  make(map[string][]driver.Container),
		asOf:    make(map[string]uint64),
		running: make(map[string]int),
	}
}

// Begin returns the version of a look at the host that begins now. Versions
// grow with every call.
func (c *hostCache) Begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	return c.seq
}

// Write sets the containers of name to f applied to the cached ones, as
// seen by the look that began at version v; an empty result forgets name.
// f must not change the list it is given. Write reports whether the write
// was applied (not superseded by a later look) and whether it changed what
// planning looks at (IDs, hashes, states, exit codes and times).
func (c *hostCache) Write(v uint64, name string, f func([]driver.Container) []driver.Container) (applied, changed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v < c.asOf[name] {
		return false, false
	}
	c.asOf[name] = v
	old := c.byName[name]
	list := f(old)
	c.countRunningLocked(old, -1)
	if len(list) == 0 {
		delete(c.byName, name)
	} else {
		c.byName[name] = list
		c.countRunningLocked(list, 1)
	}
	changed = !sameContainers(old, list)
	if changed {
		c.changes++
	}
	return true, changed
}

// Changes counts the writes so far that changed what planning looks at:
// whoever shows the cache (status, metrics) knows by it when to look
// again.
func (c *hostCache) Changes() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changes
}

// Get returns the cached containers of name. The caller must not change
// the list.
func (c *hostCache) Get(name string) []driver.Container {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byName[name]
}

// Names returns the names with cached containers, in no order.
func (c *hostCache) Names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.byName))
	for n := range c.byName {
		names = append(names, n)
	}
	return names
}

// Len returns how many names have cached containers.
func (c *hostCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byName)
}

// Running reports whether a cached container with the given ID runs,
// under whichever name: a container sharing another's network waits on
// this, and a count kept with the cache spares it a scan of every name.
func (c *hostCache) Running(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running[id] > 0
}

// snapshot returns the cache as it is now. The caller must not change it.
func (c *hostCache) snapshot() map[string][]driver.Container {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]driver.Container, len(c.byName))
	for n, list := range c.byName {
		out[n] = list
	}
	return out
}

func (c *hostCache) countRunningLocked(list []driver.Container, by int) {
	for _, ct := range list {
		if ct.State != driver.StateRunning {
			continue
		}
		if c.running[ct.ID] += by; c.running[ct.ID] <= 0 {
			delete(c.running, ct.ID)
		}
	}
}

// The changes a write makes, for Write's f.

// replaceWith sets the list as a look at the host found it.
func replaceWith(list []driver.Container) func([]driver.Container) []driver.Container {
	return func([]driver.Container) []driver.Container { return list }
}

// withContainer adds c, or replaces the container with its ID.
func withContainer(c driver.Container) func([]driver.Container) []driver.Container {
	return func(old []driver.Container) []driver.Container {
		list := slices.DeleteFunc(slices.Clone(old), func(x driver.Container) bool { return x.ID == c.ID })
		return append(list, c)
	}
}

// withChange applies change to the container with the given ID.
func withChange(id string, change func(*driver.Container)) func([]driver.Container) []driver.Container {
	return func(old []driver.Container) []driver.Container {
		list := slices.Clone(old)
		for i := range list {
			if list[i].ID == id {
				change(&list[i])
			}
		}
		return list
	}
}

// without removes the container with the given ID.
func without(id string) func([]driver.Container) []driver.Container {
	return func(old []driver.Container) []driver.Container {
		return slices.DeleteFunc(slices.Clone(old), func(x driver.Container) bool { return x.ID == id })
	}
}

// sameContainers reports whether two lists agree on what planning looks
// at.
func sameContainers(a, b []driver.Container) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.Hash != y.Hash || x.State != y.State || x.ExitCode != y.ExitCode || !x.FinishedAt.Equal(y.FinishedAt) {
			return false
		}
	}
	return true
}
