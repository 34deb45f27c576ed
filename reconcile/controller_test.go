package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// scripted is a Reconciler that returns, call by call, what the test
// scripted, and records when it was called.
type scripted struct {
	mu      sync.Mutex
	start   time.Time
	returns []func() (Result, error)
	calls   []time.Duration // since start
}

func (s *scripted) Reconcile(context.Context, string) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, time.Since(s.start))
	if len(s.calls) > len(s.returns) {
		return Result{}, nil
	}
	return s.returns[len(s.calls)-1]()
}

func done() (Result, error) { return Result{}, nil }
func after(d time.Duration) func() (Result, error) {
	return func() (Result, error) { return Result{RequeueAfter: d}, nil }
}
func fails(err error) func() (Result, error) { return func() (Result, error) { return Result{}, err } }

// outcomes is an Observer that records the outcome of each reconcile.
type outcomes struct {
	NopObserver
	mu  sync.Mutex
	got []Outcome
}

func (o *outcomes) Reconciled(r Outcome, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, r)
}

// TestControllerDecidesRequeuesFromWhatReconcileReturned pins the
// controller's one rule table: done is not requeued, RequeueAfter comes
// back after its delay, an error after the rate limiter's backoff, and a
// terminal error not at all; each outcome reaches the Observer and the
// reconciled hook, and a success or terminal error forgets the key's
// failures.
func TestControllerDecidesRequeuesFromWhatReconcileReturned(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		returns   []func() (Result, error)
		wantCalls []time.Duration
		want      []Outcome
		// failures are the failures the limiter holds after each call.
		failures []int
	}{
		{"done is not requeued", []func() (Result, error){done},
			[]time.Duration{0}, []Outcome{OutcomeSuccess}, []int{0}},
		{"requeue after a delay, then done", []func() (Result, error){after(3 * time.Second), after(time.Minute), done},
			[]time.Duration{0, 3 * time.Second, 63 * time.Second}, []Outcome{OutcomeRequeue, OutcomeRequeue, OutcomeSuccess}, []int{0, 0, 0}},
		{"errors back off until a success", []func() (Result, error){fails(boom), fails(fmt.Errorf("create a: %w", boom)), done},
			[]time.Duration{0, 2 * time.Second, 4 * time.Second}, []Outcome{OutcomeError, OutcomeError, OutcomeSuccess}, []int{1, 2, 0}},
		{"a terminal error ends the retries", []func() (Result, error){fails(boom), fails(boom), fails(TerminalError(boom))},
			[]time.Duration{0, 2 * time.Second, 4 * time.Second}, []Outcome{OutcomeError, OutcomeError, OutcomeError}, []int{1, 2, 0}},
		{"a wrapped terminal error is not retried", []func() (Result, error){fails(fmt.Errorf("create a: %w", TerminalError(boom)))},
			[]time.Duration{0}, []Outcome{OutcomeError}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &scripted{start: time.Now(), returns: tt.returns}
				obs := &outcomes{}
				limiter := &fixedLimiter{d: 2 * time.Second, failures: map[string]int{}}
				c := newController(rec, limiter, 2, obs, slog.New(slog.DiscardHandler))
				var failures []int
				c.reconciled = func(name string, _ Result, _ error) {
					if name != "a" {
						t.Errorf("reconciled(%q)", name)
					}
					failures = append(failures, limiter.NumRequeues(name))
				}
				ctx, cancel := context.WithCancel(context.Background())
				ran := make(chan struct{})
				go func() { c.Run(ctx); close(ran) }()
				c.Add("a")
				time.Sleep(time.Hour)
				synctest.Wait()
				cancel()
				<-ran

				if fmt.Sprint(rec.calls) != fmt.Sprint(tt.wantCalls) {
					t.Errorf("reconciled at %v, want %v", rec.calls, tt.wantCalls)
				}
				if fmt.Sprint(obs.got) != fmt.Sprint(tt.want) {
					t.Errorf("outcomes %v, want %v", obs.got, tt.want)
				}
				if fmt.Sprint(failures) != fmt.Sprint(tt.failures) {
					t.Errorf("the reconciled hook saw %v failures, want %v", failures, tt.failures)
				}
			})
		})
	}
}

// blocking is a Reconciler that holds every call until released, and
// counts calls per name and how many run at once per name.
type blocking struct {
	mu      sync.Mutex
	release chan struct{}
	calls   map[string]int
	busy    map[string]bool
	overlap bool
}

func (b *blocking) Reconcile(ctx context.Context, name string) (Result, error) {
	b.mu.Lock()
	b.calls[name]++
	if b.busy[name] {
		b.overlap = true
	}
	b.busy[name] = true
	b.mu.Unlock()
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	b.mu.Lock()
	b.busy[name] = false
	b.mu.Unlock()
	return Result{}, nil
}

// A name added while it is being reconciled is reconciled once more after,
// never by a second worker at the same time; shutting down waits for the
// workers, and a reconcile cut short by the shutdown is not counted.
func TestControllerNeverReconcilesANameTwiceAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &blocking{release: make(chan struct{}), calls: map[string]int{}, busy: map[string]bool{}}
		obs := &outcomes{}
		c := newController(b, newExponentialLimiter(time.Second, time.Minute), 4, obs, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { c.Run(ctx); close(ran) }()
		c.Add("a", "b")
		synctest.Wait()
		c.Add("a", "a", "b")
		synctest.Wait()
		close(b.release)
		synctest.Wait()
		if b.overlap {
			t.Error("a name was reconciled by two workers at once")
		}
		if b.calls["a"] != 2 || b.calls["b"] != 2 {
			t.Errorf("calls %v, want each name twice: once, and once more for the adds during the first", b.calls)
		}
		b.release = make(chan struct{}) // the next call blocks until cancelled
		c.Add("a")
		synctest.Wait()
		cancel()
		<-ran
		if len(obs.got) != 4 {
			t.Errorf("%d outcomes reported, want 4 (not the one cut short)", len(obs.got))
		}
	})
}
