package sim

import (
	"slices"
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// notifier tells the goroutines of this process that watch a Model that
// it changed the host: a channel closed at the next change.
type notifier struct {
	mu sync.Mutex
	c  chan struct{}
}

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.c == nil {
		n.c = make(chan struct{})
	}
	return n.c
}

func (n *notifier) signal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.c != nil {
		close(n.c)
		n.c = nil
	}
}

// dirtySet collects the containers this Model's operations may have
// changed (the state's touched ones, ended runs included), while someone
// takes them: so that noticing exits costs what changed, not the host.
type dirtySet struct {
	mu  sync.Mutex
	on  bool
	ids map[string]struct{}
}

func (d *dirtySet) note(touched map[string]struct{}) {
	if len(touched) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.on {
		return
	}
	for id := range touched {
		d.ids[id] = struct{}{}
	}
}

// track starts collecting, from empty.
func (d *dirtySet) track() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.on {
		d.on, d.ids = true, make(map[string]struct{})
	}
}

// take returns what was collected since the last take, and starts afresh.
func (d *dirtySet) take() map[string]struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := d.ids
	d.ids = make(map[string]struct{})
	return ids
}

// changed returns the containers that may have changed since the last
// call (after the first, once tracking is on: see dirtySet), as of now,
// and the ids among them that are gone.
func (m *Model) changed() (cs []driver.Container, gone []string, err error) {
	err = m.view(func(s *state) error {
		for id := range m.dirty.take() {
			if r, ok := s.Containers[id]; ok {
				cs = append(cs, r.container())
			} else {
				gone = append(gone, id)
			}
		}
		return nil
	})
	return cs, gone, err
}

// container returns container id, of any owner.
func (m *Model) container(id string) (c driver.Container, ok bool, err error) {
	err = m.view(func(s *state) error {
		if r, found := s.Containers[id]; found {
			c, ok = r.container(), true
		}
		return nil
	})
	return c, ok, err
}

// changes returns a channel that is closed when this Model next changes
// the host (another process's changes are not seen).
func (m *Model) changes() <-chan struct{} { return m.notify.wait() }

// runInfo is one run of a container's init process as the host sees it.
type runInfo struct {
	ID, Name, Owner string
	State           driver.State
	StartedAt       time.Time
	FinishedAt      time.Time
	ExitCode        int
	Command         []string
	PID             int
	// ExitAt is when the command ends by itself; zero when it does not.
	ExitAt time.Time
}

// runOf returns the current run of container id, of any owner; ok is
// false when there is no such container.
func (m *Model) runOf(id string) (ri runInfo, ok bool, err error) {
	err = m.view(func(s *state) error {
		r, found := s.Containers[id]
		if !found {
			return nil
		}
		ok = true
		ri = runInfo{
			ID: id, Name: r.Config.Name, Owner: r.Config.Owner, State: r.State,
			StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, ExitCode: r.ExitCode,
			Command: slices.Clone(r.Command), PID: r.InitPID, ExitAt: r.ExitAt,
		}
		if r.UtilityVM != nil {
			ri.PID = r.UtilityVM.PID
		}
		return nil
	})
	return ri, ok, err
}

// nextExit returns when the next command of a running container ends by
// itself; zero when none will.
func (m *Model) nextExit() time.Time {
	var t time.Time
	m.view(func(s *state) error {
		for _, r := range s.index().timed {
			if t.IsZero() || r.ExitAt.Before(t) {
				t = r.ExitAt
			}
		}
		return nil
	})
	return t
}
