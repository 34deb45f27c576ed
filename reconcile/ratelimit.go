package reconcile

import (
	"math/rand/v2"
	"sync"
	"time"
)

// A rateLimiter says how long a key waits before its next try after a
// failure, as client-go's workqueue rate limiters do. Limiters compose (see
// maxOf). Implementations are safe for concurrent use.
type rateLimiter interface {
	// When records a failure of key and returns how long to wait before
	// the next try.
	When(key string) time.Duration
	// Forget clears the failures of key, after a success or when the key
	// is given up on.
	Forget(key string)
	// NumRequeues returns how many failures of key are recorded.
	NumRequeues(key string) int
}

// exponentialLimiter is a per-key exponential backoff with jitter: the n-th
// consecutive failure of a key waits a random duration in [d/2, d],
// d = base·2ⁿ capped at max. Keys are independent, so one failing key never
// delays another.
type exponentialLimiter struct {
	base, max time.Duration
	rand      func() float64 // in [0, 1); injected by tests

	mu       sync.Mutex
	failures map[string]int
}

var _ rateLimiter = (*exponentialLimiter)(nil)

func newExponentialLimiter(base, max time.Duration) *exponentialLimiter {
	return &exponentialLimiter{base: base, max: max, rand: rand.Float64, failures: make(map[string]int)}
}

func (l *exponentialLimiter) When(key string) time.Duration {
	l.mu.Lock()
	n := l.failures[key]
	l.failures[key] = n + 1
	l.mu.Unlock()
	d := exponential(l.base, l.max, n)
	return d/2 + time.Duration(l.rand()*float64(d/2))
}

func (l *exponentialLimiter) NumRequeues(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failures[key]
}

func (l *exponentialLimiter) Forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

// maxOf is a rateLimiter that waits as long as the longest of its
// limiters, each of which records every failure: client-go's
// MaxOfRateLimiter, to put, say, a per-key backoff and an overall budget
// together.
type maxOf []rateLimiter

var _ rateLimiter = maxOf(nil)

func (m maxOf) When(key string) time.Duration {
	var d time.Duration
	for _, l := range m {
		d = max(d, l.When(key))
	}
	return d
}

func (m maxOf) NumRequeues(key string) int {
	var n int
	for _, l := range m {
		n = max(n, l.NumRequeues(key))
	}
	return n
}

func (m maxOf) Forget(key string) {
	for _, l := range m {
		l.Forget(key)
	}
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
