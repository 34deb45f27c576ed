package reconcile

import (
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// Crash-loop backoff of restart policies (DESIGN §4). It is the restart
// policy's own timing, apart from the rate limiter that spaces out retries
// after errors.
const (
	crashBackoffBase  = 10 * time.Second
	crashBackoffMax   = 5 * time.Minute
	crashBackoffReset = 10 * time.Minute
)

// crashLoop tracks the restarts of one container name. The first restart
// after a good run is immediate; each further consecutive restart waits
// 10 s, 20 s, ... up to 5 min after the exit. A run of 10 min or more counts
// as good and resets the count.
type crashLoop struct {
	restarts    int // total, for status and metrics
	consecutive int
}

// delay returns how long after the exit the next restart may happen, given
// how long the container ran before it exited.
func (c *crashLoop) delay(ran time.Duration) time.Duration {
	if ran >= crashBackoffReset {
		c.consecutive = 0
	}
	if c.consecutive == 0 {
		return 0
	}
	return exponential(crashBackoffBase, crashBackoffMax, c.consecutive-1)
}

// restarts is what the restart policy remembers per container name: its
// crash loop, when an exit was first seen where the driver does not say
// when it happened, and until when a restart is held back. It is safe for
// concurrent use.
type restarts struct {
	mu     sync.Mutex
	byName map[string]*restartState
	// changes counts the changes status shows (a restart held back, one
	// done), so that whoever caches status knows when to look again.
	changes uint64
}

type restartState struct {
	crash    crashLoop
	exitSeen map[string]time.Time // container ID -> when first seen exited
	waiting  time.Time            // restart held by crash backoff until
	// told reports that the wait before the next restart was logged: once
	// per restart, not on every reconcile until it is due.
	told bool
}

// restartView is what status shows of a name's restarts.
type restartView struct {
	count   int
	waiting time.Time // zero when no restart is held back
}

func newRestarts() *restarts { return &restarts{byName: make(map[string]*restartState)} }

func (r *restarts) stateLocked(name string) *restartState {
	s := r.byName[name]
	if s == nil {
		s = &restartState{exitSeen: make(map[string]time.Time)}
		r.byName[name] = s
	}
	return s
}

// wait returns how long the restart of the exited container c of name must
// still wait, how often name was restarted so far, and whether this is
// the first time that a wait is found since the last restart (the one to
// log).
func (r *restarts) wait(name string, c driver.Container) (wait time.Duration, restarts int, first bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stateLocked(name)
	exited := c.FinishedAt
	if exited.IsZero() {
		if s.exitSeen[c.ID].IsZero() {
			s.exitSeen[c.ID] = time.Now()
		}
		exited = s.exitSeen[c.ID]
	}
	var ran time.Duration
	if !c.StartedAt.IsZero() && !c.FinishedAt.IsZero() {
		ran = c.FinishedAt.Sub(c.StartedAt)
	}
	wait = time.Until(exited.Add(s.crash.delay(ran)))
	if wait > 0 {
		s.waiting = time.Now().Add(wait)
		r.changes++
		first, s.told = !s.told, true
	}
	return wait, s.crash.restarts, first
}

// restarted records a restart of name.
func (r *restarts) restarted(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stateLocked(name)
	s.crash.restarts++
	s.crash.consecutive++
	s.waiting, s.told = time.Time{}, false
	r.changes++
}

// version counts the changes so far that status shows.
func (r *restarts) version() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changes
}

// views returns what status shows of every name restarted or held back.
func (r *restarts) views() map[string]restartView {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]restartView, len(r.byName))
	for name, s := range r.byName {
		out[name] = restartView{count: s.crash.restarts, waiting: s.waiting}
	}
	return out
}
