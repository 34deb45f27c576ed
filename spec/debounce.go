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
// at once unless a burst is pending; then it waits for the burst and runs
// right after it as a rescan of its own, so that a burst's read is of the
// paths it named and never waits for the resync's look at every file.
type debouncer struct {
	quiet    time.Duration
	maxDelay time.Duration

	first     time.Time // first change of the pending burst; zero when none
	lastEvent time.Time // last change of the burst
	trigger   Trigger   // the burst's highest trigger
	resyncAt  time.Time // when a pending resync was asked for; zero when none
}

// add records a request to rescan for trigger t, seen at now.
func (d *debouncer) add(t Trigger, now time.Time) {
	if t == TriggerResync {
		if d.resyncAt.IsZero() {
			d.resyncAt = now
		}
		return
	}
	if d.first.IsZero() {
		d.first = now
		d.trigger = t
	} else if triggerRank(t) > triggerRank(d.trigger) {
		d.trigger = t
	}
	d.lastEvent = now
}

// pending reports whether a rescan has been asked for.
func (d *debouncer) pending() bool { return !d.first.IsZero() || !d.resyncAt.IsZero() }

// due returns when the next rescan should run. It is meaningful only when
// pending returns true.
func (d *debouncer) due() time.Time {
	if d.first.IsZero() {
		return d.resyncAt
	}
	at := d.lastEvent.Add(d.quiet)
	if limit := d.first.Add(d.maxDelay); limit.Before(at) {
		at = limit
	}
	return at
}

// fire reports whether a rescan is due at now; if so it returns the
// rescan's trigger and when its first request was seen, and forgets it. A
// burst fires before a resync pending with it, which is then due at once.
func (d *debouncer) fire(now time.Time) (t Trigger, seenAt time.Time, ok bool) {
	if !d.pending() || now.Before(d.due()) {
		return "", time.Time{}, false
	}
	if d.first.IsZero() {
		seenAt = d.resyncAt
		d.resyncAt = time.Time{}
		return TriggerResync, seenAt, true
	}
	t, seenAt = d.trigger, d.first
	d.first, d.lastEvent, d.trigger = time.Time{}, time.Time{}, ""
	return t, seenAt, true
}

// triggerRank orders the triggers of a burst by how much they say about
// the folder: an overflow means events were lost, so it outranks the
// events themselves. A burst is reported under its highest trigger.
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
