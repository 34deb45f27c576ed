package health

import (
	"context"
	"time"
)

// Clock tells the time and waits, so that a Loop can be timed by a test.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the Clock of the time package.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Loop probes container id, whose run started at started, with c: the
// first probe one interval after the start, as Docker's, then one
// interval after each probe ends. It calls report with the status after
// every probe (a copy; report must not block long, it times the next
// probe) and returns when ctx ends, or at once for a check of no
// interval.
func Loop(ctx context.Context, clock Clock, p Prober, id string, c Check, started time.Time, report func(Status, Result)) {
	if c.Interval <= 0 {
		return
	}
	s := NewStatus(started)
	wait := max(0, started.Add(c.Interval).Sub(clock.Now()))
	for {
		select {
		case <-ctx.Done():
			return
		case <-clock.After(wait):
		}
		r := p.Probe(ctx, id, c)
		if ctx.Err() != nil {
			return // ended by ctx, not by the container
		}
		s.Record(c, started, r)
		report(s.Clone(), r)
		wait = c.Interval
	}
}
