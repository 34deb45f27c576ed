package reconcile

import (
	"math/rand/v2"
	"sync"
	"time"
)

// backoff is a per-key exponential backoff with jitter: the n-th consecutive
// failure of a key waits a random duration in [d/2, d], d = base·2ⁿ capped
// at max. Keys are independent, so one failing key never delays another;
// Forget resets a key after a success.
type backoff struct {
	base, max time.Duration
	rand      func() float64 // in [0, 1); injected by tests

	mu       sync.Mutex
	failures map[string]int
}

func newBackoff(base, max time.Duration) *backoff {
	return &backoff{base: base, max: max, rand: rand.Float64, failures: make(map[string]int)}
}

// When records a failure of key and returns how long to wait before the
// next try.
func (b *backoff) When(key string) time.Duration {
	b.mu.Lock()
	n := b.failures[key]
	b.failures[key] = n + 1
	b.mu.Unlock()
	d := exponential(b.base, b.max, n)
	return d/2 + time.Duration(b.rand()*float64(d/2))
}

// Failures returns the number of consecutive failures of key.
func (b *backoff) Failures(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures[key]
}

// Forget resets key after a success.
func (b *backoff) Forget(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.failures, key)
}

// exponential returns base·2ⁿ, capped at max and safe from overflow.
func exponential(base, max time.Duration, n int) time.Duration {
	d := base
	for range n {
		if d >= max/2 {
			return max
		}
		d *= 2
	}
	return min(d, max)
}

// Crash-loop backoff of restart policies (DESIGN §4).
const (
	crashBackoffBase  = 10 * time.Second
	crashBackoffMax   = 5 * time.Minute
	crashBackoffReset = 10 * time.Minute
)

// crashLoop tracks the restarts of one container name. The first restart
// after a good run is immediate; each further consecutive restart waits
// 10 s, 20 s, ... up to 5 min after the exit. A run of 10 min or more counts
// as good and resets the count.
type crashLoop struct {
	restarts    int // total, for status and metrics
	consecutive int
}

// delay returns how long after the exit the next restart may happen, given
// how long the container ran before it exited.
func (c *crashLoop) delay(ran time.Duration) time.Duration {
	if ran >= crashBackoffReset {
		c.consecutive = 0
	}
	if c.consecutive == 0 {
		return 0
	}
	return exponential(crashBackoffBase, crashBackoffMax, c.consecutive-1)
}
