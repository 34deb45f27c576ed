package reconcile

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// tracker follows readiness and convergence.
//
// The engine is ready once the host's containers were listed, a snapshot
// was admitted, and every name known then was reconciled once. It has
// converged when, besides, the latest desired generation handed in is
// admitted and every name has settled since: its last reconcile succeeded
// and left nothing to do. A name unsettles when it is enqueued, fails, or
// must come back later.
//
// The tracker reports each convergence to onConverged once, with the time
// since the first change it converged on was seen. It is safe for
// concurrent use.
type tracker struct {
	// settled reports whether nothing is left to do for a name now; it is
	// called with the tracker's lock held and must not call back.
	settled func(name string) bool
	// allKeys returns every name known now, for the first full pass.
	allKeys     func() []string
	onConverged func(d time.Duration)

	mu        sync.Mutex
	want      uint64 // latest desired generation handed in
	applied   uint64 // latest desired generation admitted
	relisted  bool
	readyWait map[string]bool // names of the first full pass not reconciled yet; nil before it began
	// early are the names reconciled before the first full pass began
	// (handed to the workers as the first admission went): they count
	// as passed.
	early     map[string]bool
	ready     bool
	unsettled map[string]bool
	changedAt time.Time // first change not converged on; zero when converged
	lastOK    time.Time
	lastErr   map[string]string
	conv      chan struct{} // closed while converged
}

func newTracker(settled func(string) bool, allKeys func() []string, onConverged func(time.Duration)) *tracker {
	return &tracker{
		settled:     settled,
		allKeys:     allKeys,
		onConverged: onConverged,
		unsettled:   make(map[string]bool),
		lastErr:     make(map[string]string),
		conv:        make(chan struct{}),
	}
}

// desire records that generation gen of the desired state was handed in.
func (t *tracker) desire(gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.want = max(t.want, gen)
	t.signalLocked()
}

// unsettle marks names as having work to do. Call it before enqueueing
// them, so convergence is never reported for work not done yet.
func (t *tracker) unsettle(names []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range names {
		t.unsettled[n] = true
	}
	t.signalLocked()
}

// admitted records that generation gen is in force and changed the names
// listed, whose change was first seen at seenAt. The caller enqueues them.
// handedOut are names it changed too that were handed to the workers as
// they were admitted (a first admission): they are unsettled already, and
// may have settled since.
func (t *tracker) admitted(gen uint64, changed, handedOut []string, seenAt time.Time) {
	t.mu.Lock()
	for _, n := range changed {
		t.unsettled[n] = true
	}
	t.applied = max(t.applied, gen)
	if t.relisted {
		// Not ready before the host's containers are known.
		if t.readyWait == nil && !t.ready {
			t.startReadyLocked()
		}
		if len(changed)+len(handedOut) > 0 && t.changedAt.IsZero() {
			t.changedAt = seenAt
		}
	}
	t.signalLocked()
	t.mu.Unlock()
	t.checkConverged()
}

// relistDone records that the host's containers were listed.
func (t *tracker) relistDone() {
	t.mu.Lock()
	defer t.mu.Unlock()
	first := !t.relisted
	t.relisted = true
	if first && t.applied > 0 && t.readyWait == nil {
		t.startReadyLocked()
	}
	t.signalLocked()
}

// startReadyLocked begins the first full pass over every name known now.
func (t *tracker) startReadyLocked() {
	t.readyWait = make(map[string]bool)
	for _, k := range t.allKeys() {
		if !t.early[k] {
			t.readyWait[k] = true
		}
	}
	t.early = nil
	t.changedAt = time.Now()
	if len(t.readyWait) == 0 {
		t.ready = true
	}
}

// unsettledNames returns the names not settled now, in no order.
func (t *tracker) unsettledNames() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Collect(maps.Keys(t.unsettled))
}

// reconciled records what one reconcile of name returned.
func (t *tracker) reconciled(name string, res Result, err error) {
	t.mu.Lock()
	delete(t.readyWait, name)
	if t.readyWait != nil && len(t.readyWait) == 0 && !t.ready {
		t.ready = true
		// Emptied, not dropped: a map keeps the room it once needed,
		// here one entry per name of the first pass.
		t.readyWait = map[string]bool{}
	}
	if t.readyWait == nil && !t.ready {
		if t.early == nil {
			t.early = make(map[string]bool)
		}
		t.early[name] = true
	}
	switch {
	case err != nil:
		t.lastErr[name] = err.Error()
		t.unsettled[name] = true
	case res.RequeueAfter > 0:
		delete(t.lastErr, name)
		t.unsettled[name] = true
	default:
		delete(t.lastErr, name)
		t.lastOK = time.Now()
		if t.unsettled[name] && t.settled(name) {
			delete(t.unsettled, name)
			if len(t.unsettled) == 0 {
				// Converged: made small again, after a cold start or
				// a change of every spec that had a name in it each.
				t.unsettled = make(map[string]bool)
			}
		}
	}
	t.signalLocked()
	t.mu.Unlock()
	t.checkConverged()
}

// checkConverged reports a convergence once per change.
func (t *tracker) checkConverged() {
	t.mu.Lock()
	if !t.convergedLocked() || t.changedAt.IsZero() {
		t.mu.Unlock()
		return
	}
	d := time.Since(t.changedAt)
	t.changedAt = time.Time{}
	t.mu.Unlock()
	t.onConverged(d)
}

func (t *tracker) convergedLocked() bool {
	return t.ready && t.applied >= t.want && len(t.unsettled) == 0
}

// signalLocked keeps conv closed exactly while converged.
func (t *tracker) signalLocked() {
	closed := false
	select {
	case <-t.conv:
		closed = true
	default:
	}
	switch c := t.convergedLocked(); {
	case c && !closed:
		close(t.conv)
	case !c && closed:
		t.conv = make(chan struct{})
	}
}

// convergedC returns a channel that is closed once converged (at once if
// converged now).
func (t *tracker) convergedC() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conv
}

// wanted returns the latest desired generation handed in.
func (t *tracker) wanted() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.want
}

func (t *tracker) converged() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.convergedLocked()
}

func (t *tracker) isReady() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ready
}

// trackerView is what status shows of the tracker.
type trackerView struct {
	ready, converged bool
	lastOK           time.Time
	lastErr          map[string]string
}

func (t *tracker) view() trackerView {
	t.mu.Lock()
	defer t.mu.Unlock()
	return trackerView{ready: t.ready, converged: t.convergedLocked(), lastOK: t.lastOK, lastErr: maps.Clone(t.lastErr)}
}
