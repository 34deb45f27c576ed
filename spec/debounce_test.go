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
	tests := []struct {
		name    string
		reqs    []req
		wantDue int // ms after t0
		want    Trigger
	}{
		{
			name:    "single event waits for the quiet period",
			reqs:    []req{{0, TriggerEvent}},
			wantDue: 100,
			want:    TriggerEvent,
		},
		{
			name:    "each event within the quiet period extends it",
			reqs:    []req{{0, TriggerEvent}, {60, TriggerEvent}, {150, TriggerEvent}},
			wantDue: 250,
			want:    TriggerEvent,
		},
		{
			name:    "a burst that never settles is capped after the first event",
			reqs:    []req{{0, TriggerEvent}, {90, TriggerEvent}, {180, TriggerEvent}, {270, TriggerEvent}, {360, TriggerEvent}, {450, TriggerEvent}, {540, TriggerEvent}, {630, TriggerEvent}, {720, TriggerEvent}, {810, TriggerEvent}, {900, TriggerEvent}, {990, TriggerEvent}},
			wantDue: 1000,
			want:    TriggerEvent,
		},
		{
			name:    "a resync alone is due at once",
			reqs:    []req{{40, TriggerResync}},
			wantDue: 40,
			want:    TriggerResync,
		},
		{
			name:    "a resync during a burst waits for the burst and reports the event",
			reqs:    []req{{0, TriggerEvent}, {50, TriggerResync}},
			wantDue: 100,
			want:    TriggerEvent,
		},
		{
			name:    "an event joining a pending resync is debounced",
			reqs:    []req{{0, TriggerResync}, {0, TriggerEvent}},
			wantDue: 100,
			want:    TriggerEvent,
		},
		{
			name:    "an overflow outranks the events of its burst",
			reqs:    []req{{0, TriggerEvent}, {20, TriggerOverflow}, {40, TriggerEvent}},
			wantDue: 140,
			want:    TriggerOverflow,
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
			if got := d.due(); !got.Equal(at(tt.wantDue)) {
				t.Fatalf("due = %v after t0, want %dms", got.Sub(t0), tt.wantDue)
			}
			if _, _, ok := d.fire(at(tt.wantDue).Add(-time.Nanosecond)); ok {
				t.Fatal("fired before it was due")
			}
			trig, seenAt, ok := d.fire(at(tt.wantDue))
			if !ok {
				t.Fatal("did not fire when due")
			}
			if trig != tt.want {
				t.Errorf("trigger = %q, want %q", trig, tt.want)
			}
			if want := at(tt.reqs[0].ms); !seenAt.Equal(want) {
				t.Errorf("seenAt = %v, want the first request's time %v", seenAt.Sub(t0), want.Sub(t0))
			}
			if d.pending() {
				t.Error("still pending after firing")
			}
			if _, _, ok := d.fire(at(5000)); ok {
				t.Error("fired twice for one burst")
			}
		})
	}
}
