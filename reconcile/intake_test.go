package reconcile

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
)

// TestIntakeGenerations pins when there is something to admit: a new
// snapshot or a policy change bumps the generation; admitting it settles
// it; a second look at what is in force is not new; a change that arrives
// while an admission runs waits for the next one; and the time a change
// was seen is the earliest of those not in force yet.
func TestIntakeGenerations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		in := newIntake(nil)
		if _, ok := in.next(true); ok {
			t.Fatal("an admission before the first snapshot")
		}
		if _, ok := in.setPolicy(nil); ok {
			t.Error("a policy change before any snapshot asks for an admission")
		}

		first := &spec.Snapshot{Revision: "r1"}
		g1 := in.update(first, t0.Add(-time.Second))
		time.Sleep(time.Second)
		if g := in.update(first, t0); g <= g1 {
			t.Errorf("the same snapshot handed in again: generation %d after %d, want it bumped", g, g1)
		}
		a, ok := in.next(false)
		if !ok || a.snap != first || !a.seenAt.Equal(t0.Add(-time.Second)) {
			t.Fatalf("next = %+v, %v; want the snapshot, seen at the first hand-over", a, ok)
		}

		// A policy change during the admission waits for the next one, which
		// counts from the first change not in force when it came.
		time.Sleep(time.Second)
		g3, ok := in.setPolicy(&policy.Checker{})
		if !ok || g3 <= a.gen {
			t.Fatalf("setPolicy = %d, %v during the admission of %d", g3, ok, a.gen)
		}
		in.done(a.gen)
		b, ok := in.next(false)
		if !ok || b.gen != g3 || b.policy == nil || !b.seenAt.Equal(t0.Add(-time.Second)) {
			t.Fatalf("after a policy change: next = %+v, %v", b, ok)
		}
		in.done(b.gen)
		if _, ok := in.next(false); ok {
			t.Error("something to admit after everything was admitted")
		}

		time.Sleep(time.Second)
		again, ok := in.next(true)
		if !ok || again.gen != b.gen || !again.seenAt.Equal(time.Now()) {
			t.Errorf("second look = %+v, %v; want the generation in force, seen now", again, ok)
		}

		// An admission that finishes late does not unsettle a newer one.
		second := &spec.Snapshot{Revision: "r2"}
		g4 := in.update(second, time.Now())
		c, _ := in.next(false)
		in.done(c.gen)
		in.done(again.gen)
		if _, ok := in.next(false); ok || c.gen != g4 {
			t.Errorf("generation %d admitted, then an older one finished: something new is reported", g4)
		}
	})
}
