package spec

import "time"

// debouncer decides when a burst of folder changes has settled enough to
// read the folder. It is pure: every method takes the current time, so the
// timing rules are tested without a clock, and the Watcher's goroutine is
// its only user.
//
// The rules: after a change, wait until no further change has arrived for
// the quiet period, but never longer than maxDelay after the first change
// of the burst, so a folder that never stops changing is still read. A
// rescan that was asked for without a change (the periodic resync) is due
// at once unless a burst is already pending, which it then joins.
type debouncer struct {
	quiet    time.Duration
	maxDelay time.Duration

	first     time.Time // first request of the pending burst; zero when idle
	lastEvent time.Time // last change of the burst; zero when only resyncs are pending
	trigger   Trigger
}

// add records a request to rescan for trigger t, seen at now.
func (d *debouncer) add(t Trigger, now time.Time) {
	if d.first.IsZero() {
		d.first = now
		d.trigger = t
	} else if triggerRank(t) > triggerRank(d.trigger) {
		d.trigger = t
	}
	if t != TriggerResync {
		d.lastEvent = now
	}
}

// pending reports whether a rescan has been asked for.
func (d *debouncer) pending() bool { return !d.first.IsZero() }

// due returns when the pending rescan should run. It is meaningful only
// when pending returns true.
func (d *debouncer) due() time.Time {
	if d.lastEvent.IsZero() {
		return d.first
	}
	at := d.lastEvent.Add(d.quiet)
	if limit := d.first.Add(d.maxDelay); limit.Before(at) {
		at = limit
	}
	return at
}

// fire reports whether the pending rescan is due at now; if so it returns
// the rescan's trigger and when its first request was seen, and forgets it.
func (d *debouncer) fire(now time.Time) (t Trigger, seenAt time.Time, ok bool) {
	if !d.pending() || now.Before(d.due()) {
		return "", time.Time{}, false
	}
	t, seenAt = d.trigger, d.first
	*d = debouncer{quiet: d.quiet, maxDelay: d.maxDelay}
	return t, seenAt, true
}

// triggerRank orders triggers by how much they say about the folder: an
// overflow means events were lost, so it outranks the events themselves,
// which outrank a routine resync. A burst is reported under its highest
// trigger.
func triggerRank(t Trigger) int {
	switch t {
	case TriggerOverflow:
		return 2
	case TriggerEvent:
		return 1
	default:
		return 0
	}
}
