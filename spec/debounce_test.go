package spec

import (
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	const quiet, maxDelay = 100 * time.Millisecond, time.Second
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	type req struct {
		ms int
		t  Trigger
	}
	// A rescan that fires: when it is due (a resync that waited for a
	// burst is overdue, and fires with the burst), under which trigger,
	// and the SeenAt it reports.
	type rescan struct {
		due, seen int // ms after t0
		t         Trigger
	}
	tests := []struct {
		name string
		reqs []req
		want []rescan // in order
	}{
		{
			name: "single event waits for the quiet period",
			reqs: []req{{0, TriggerEvent}},
			want: []rescan{{100, 0, TriggerEvent}},
		},
		{
			name: "each event within the quiet period extends it",
			reqs: []req{{0, TriggerEvent}, {60, TriggerEvent}, {150, TriggerEvent}},
			want: []rescan{{250, 0, TriggerEvent}},
		},
		{
			name: "a burst that never settles is capped after the first event",
			reqs: []req{{0, TriggerEvent}, {90, TriggerEvent}, {180, TriggerEvent}, {270, TriggerEvent}, {360, TriggerEvent}, {450, TriggerEvent}, {540, TriggerEvent}, {630, TriggerEvent}, {720, TriggerEvent}, {810, TriggerEvent}, {900, TriggerEvent}, {990, TriggerEvent}},
			want: []rescan{{1000, 0, TriggerEvent}},
		},
		{
			name: "a resync alone is due at once",
			reqs: []req{{40, TriggerResync}},
			want: []rescan{{40, 40, TriggerResync}},
		},
		{
			name: "a resync during a burst runs right after the burst, on its own",
			reqs: []req{{0, TriggerEvent}, {50, TriggerResync}},
			want: []rescan{{100, 0, TriggerEvent}, {50, 50, TriggerResync}},
		},
		{
			name: "an event joining a pending resync is debounced, and the resync follows",
			reqs: []req{{0, TriggerResync}, {0, TriggerEvent}},
			want: []rescan{{100, 0, TriggerEvent}, {0, 0, TriggerResync}},
		},
		{
			name: "two resyncs pending are one",
			reqs: []req{{0, TriggerEvent}, {20, TriggerResync}, {40, TriggerResync}},
			want: []rescan{{100, 0, TriggerEvent}, {20, 20, TriggerResync}},
		},
		{
			name: "an overflow outranks the events of its burst",
			reqs: []req{{0, TriggerEvent}, {20, TriggerOverflow}, {40, TriggerEvent}},
			want: []rescan{{140, 0, TriggerOverflow}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := debouncer{quiet: quiet, maxDelay: maxDelay}
			if d.pending() {
				t.Fatal("new debouncer is pending")
			}
			for _, r := range tt.reqs {
				d.add(r.t, at(r.ms))
			}
			var now time.Time // of the last rescan
			for i, w := range tt.want {
				if !d.pending() {
					t.Fatalf("rescan %d: not pending", i)
				}
				if got := d.due(); !got.Equal(at(w.due)) {
					t.Fatalf("rescan %d: due = %v after t0, want %dms", i, got.Sub(t0), w.due)
				}
				if at(w.due).After(now) {
					if _, _, ok := d.fire(at(w.due).Add(-time.Nanosecond)); ok {
						t.Fatalf("rescan %d: fired before it was due", i)
					}
					now = at(w.due)
				}
				trig, seenAt, ok := d.fire(now)
				if !ok {
					t.Fatalf("rescan %d: did not fire when due", i)
				}
				if trig != w.t {
					t.Errorf("rescan %d: trigger = %q, want %q", i, trig, w.t)
				}
				if !seenAt.Equal(at(w.seen)) {
					t.Errorf("rescan %d: seenAt = %v after t0, want %dms", i, seenAt.Sub(t0), w.seen)
				}
			}
			if d.pending() {
				t.Error("still pending after the last rescan")
			}
			if _, _, ok := d.fire(at(5000)); ok {
				t.Error("fired once more than asked")
			}
		})
	}
}
