package reconcile

import (
	"testing"
	"time"
)

func TestExponentialLimiterDoublesPerKeyWithJitterAndCap(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999} {
		b := newExponentialLimiter(time.Second, 10*time.Second)
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
		if n := b.NumRequeues("a"); n != 6 {
			t.Errorf("rand %v: NumRequeues = %d, want 6", r, n)
		}
		if d := b.When("other"); d > time.Second {
			t.Errorf("another key's first failure waits %s: keys are not independent", d)
		}
		b.Forget("a")
		if n := b.NumRequeues("a"); n != 0 {
			t.Errorf("NumRequeues after Forget = %d", n)
		}
		if d := b.When("a"); d > time.Second {
			t.Errorf("after Forget the key waits %s", d)
		}
	}
}

// fixedLimiter always waits d and counts like the real ones.
type fixedLimiter struct {
	d        time.Duration
	failures map[string]int
}

func (f *fixedLimiter) When(key string) time.Duration { f.failures[key]++; return f.d }
func (f *fixedLimiter) Forget(key string)             { delete(f.failures, key) }
func (f *fixedLimiter) NumRequeues(key string) int    { return f.failures[key] }

func TestMaxOfWaitsForTheLongestAndForgetsInAll(t *testing.T) {
	exp := newExponentialLimiter(time.Second, time.Minute)
	exp.rand = func() float64 { return 0.999 } // the top of each jitter range
	floor := &fixedLimiter{d: 3 * time.Second, failures: map[string]int{}}
	m := maxOf{exp, floor}
	for i, want := range []time.Duration{3 * time.Second, 3 * time.Second, 4 * time.Second, 8 * time.Second} {
		got := m.When("a")
		if got < want-10*time.Millisecond || got > want {
			t.Errorf("failure %d waits %s, want about %s", i, got, want)
		}
	}
	if n := m.NumRequeues("a"); n != 4 {
		t.Errorf("NumRequeues = %d, want 4", n)
	}
	m.Forget("a")
	if exp.NumRequeues("a") != 0 || floor.NumRequeues("a") != 0 {
		t.Error("Forget did not reach every limiter")
	}
}

func TestExponentialDoesNotOverflow(t *testing.T) {
	if d := exponential(time.Second, time.Hour, 1000); d != time.Hour {
		t.Errorf("exponential(1s, 1h, 1000) = %s", d)
	}
}
