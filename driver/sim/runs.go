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

// runsCursor is where a reader of the index's changes of runs stands.
type runsCursor struct {
	ix  *index // the index counted in; a rebuilt one starts again
	seq uint64
}

// runsSince returns the containers of owner whose run changed since cur
// (started, ended, added), and those of recheck, and the IDs of those
// gone, with the cursor to ask from next time. ok is false when the changes since cur are not
// known (the first call, a rebuilt index, a reader too far behind): then
// cs holds every container of owner and gone is empty.
func (m *Model) runsSince(owner string, cur runsCursor, recheck map[string]bool) (cs []driver.Container, gone []string, next runsCursor, ok bool, err error) {
	err = m.view(func(s *state) error {
		ix := s.index()
		next = runsCursor{ix: ix, seq: ix.runsSeq}
		first := ix.runsSeq - uint64(len(ix.runs))
		if cur.ix != ix || cur.seq < first || cur.seq > ix.runsSeq {
			cs = s.containers(owner)
			return nil
		}
		ok = true
		seen := make(map[string]bool)
		ids := ix.runs[cur.seq-first:]
		for id := range recheck {
			ids = append(ids[:len(ids):len(ids)], id)
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			r, found := s.Containers[id]
			switch {
			case !found:
				gone = append(gone, id)
			case r.Config.Owner == owner:
				cs = append(cs, r.container())
			}
		}
		return nil
	})
	return cs, gone, next, ok, err
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
