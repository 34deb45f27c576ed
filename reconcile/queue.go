package reconcile

import (
	"sync"
	"time"
)

// queue is a work queue of keys with client-go workqueue's guarantees: a key
// is handed to at most one worker at a time; a key added while it is being
// processed is handed out again once Done is called (dirty-while-
// processing); a key added many times before it is picked up is processed
// once. Delayed adds keep only the earliest pending deadline per key.
//
// Keys added with AddLow wait behind every other key, as controller-
// runtime's priority queue puts the keys of a resync behind those of a
// change: at 10,000 specs a pass over every key must not hold up a change
// that comes meanwhile. A key added both ways is
// handed out with the others.
type queue struct {
	mu    sync.Mutex
	cond  *sync.Cond
	items []string
	// later are the keys added with AddLow only, handed out when items is
	// empty. Both lists may hold keys handed out already (a key added low,
	// then again at once, sits in both): Get passes over those.
	later      []string
	low        map[string]bool // dirty keys that wait in later only
	dirty      map[string]bool
	processing map[string]bool
	timers     map[string]delayed
	shutdown   bool
}

type delayed struct {
	at    time.Time
	timer *time.Timer
}

func newQueue() *queue {
	q := &queue{
		low:        make(map[string]bool),
		dirty:      make(map[string]bool),
		processing: make(map[string]bool),
		timers:     make(map[string]delayed),
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add marks key as needing work.
func (q *queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

// AddLow marks key as needing work once no key added with Add waits.
func (q *queue) AddLow(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown || q.dirty[key] {
		return
	}
	q.dirty[key] = true
	q.low[key] = true
	if q.processing[key] {
		return // Done requeues it
	}
	q.later = append(q.later, key)
	q.cond.Signal()
}

func (q *queue) addLocked(key string) {
	if q.shutdown {
		return
	}
	if q.dirty[key] {
		if q.low[key] {
			// Waiting behind the others: it goes with them now.
			delete(q.low, key)
			if !q.processing[key] {
				q.items = append(q.items, key)
				q.cond.Signal()
			}
		}
		return
	}
	q.dirty[key] = true
	if q.processing[key] {
		return // Done requeues it
	}
	q.items = append(q.items, key)
	q.cond.Signal()
}

// AddAfter adds key once d has passed. An earlier pending AddAfter for the
// same key wins; a later one replaces a pending later one.
func (q *queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	at := time.Now().Add(d)
	if old, ok := q.timers[key]; ok {
		if !old.at.After(at) {
			return
		}
		old.timer.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if cur, ok := q.timers[key]; ok && cur.timer == t {
			delete(q.timers, key)
		}
		q.addLocked(key)
	})
	q.timers[key] = delayed{at: at, timer: t}
}

// Get blocks until a key is ready or the queue shuts down; ok is false after
// shutdown. The caller must call Done(key) when finished.
func (q *queue) Get() (key string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		for len(q.items) == 0 && len(q.later) == 0 && !q.shutdown {
			q.cond.Wait()
		}
		if q.shutdown {
			return "", false
		}
		var low bool
		if len(q.items) > 0 {
			key = q.items[0]
			q.items[0] = ""
			q.items = q.items[1:]
		} else {
			key, low = q.later[0], true
			q.later[0] = ""
			q.later = q.later[1:]
		}
		// An entry whose key was handed out from the other list, or that
		// was moved from later to items, is passed over.
		if !q.dirty[key] || q.processing[key] || low != q.low[key] {
			continue
		}
		q.processing[key] = true
		delete(q.dirty, key)
		delete(q.low, key)
		if len(q.items) == 0 && len(q.later) == 0 {
			// Drained: what a pass over every name grew (arrays of keys,
			// maps of them) goes, not kept for the agent's life.
			q.items, q.later = nil, nil
			if len(q.dirty) == 0 {
				q.dirty, q.low = make(map[string]bool), make(map[string]bool)
			}
		}
		return key, true
	}
}

// Done ends processing of key; if it was added meanwhile it is queued again.
func (q *queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if q.dirty[key] && !q.shutdown {
		if q.low[key] {
			q.later = append(q.later, key)
		} else {
			q.items = append(q.items, key)
		}
		q.cond.Signal()
	}
}

// Len returns the number of keys waiting (not processing, not delayed).
func (q *queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for k := range q.dirty {
		if !q.processing[k] {
			n++
		}
	}
	return n
}

// ShutDown wakes all Get callers, which return false, and stops pending
// delayed adds.
func (q *queue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
	for k, d := range q.timers {
		d.timer.Stop()
		delete(q.timers, k)
	}
	q.cond.Broadcast()
}
