package reconcile

import (
	"testing"
	"time"
)

func TestBackoffDoublesPerKeyWithJitterAndCap(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999} {
		b := newBackoff(time.Second, 10*time.Second)
		b.rand = func() float64 { return r }
		var got []time.Duration
		for range 6 {
			got = append(got, b.When("a"))
		}
		want := []time.Duration{1, 2, 4, 8, 10, 10}
		for i, w := range want {
			hi := w * time.Second
			if got[i] < hi/2 || got[i] > hi {
				t.Errorf("rand %v: failure %d waits %s, want within [%s, %s]", r, i, got[i], hi/2, hi)
			}
		}
		if d := b.When("other"); d > time.Second {
			t.Errorf("another key's first failure waits %s: keys are not independent", d)
		}
		b.Forget("a")
		if d := b.When("a"); d > time.Second {
			t.Errorf("after Forget the key waits %s", d)
		}
	}
}

func TestExponentialDoesNotOverflow(t *testing.T) {
	if d := exponential(time.Second, time.Hour, 1000); d != time.Hour {
		t.Errorf("exponential(1s, 1h, 1000) = %s", d)
	}
}

func TestCrashLoopDelays(t *testing.T) {
	var c crashLoop
	var got []time.Duration
	for range 8 {
		got = append(got, c.delay(time.Second))
		c.consecutive++
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("restart %d waits %s, want %s", i, got[i], want[i])
		}
	}
	if d := c.delay(10 * time.Minute); d != 0 {
		t.Errorf("after 10 min of running the restart waits %s, want 0 (reset)", d)
	}
}
