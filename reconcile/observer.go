package reconcile

import (
	"context"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
)

// Result is the outcome of one reconcile of a key, as a metric label value.
type Result string

// Reconcile results.
const (
	ResultSuccess Result = "success" // the key is done until something changes
	ResultError   Result = "error"   // it failed; retried with backoff unless terminal
	ResultRequeue Result = "requeue" // it waits (crash backoff) and comes back
)

// Results lists every Result, for pre-initialising metric series.
var Results = []Result{ResultSuccess, ResultError, ResultRequeue}

// Observer is told what the engine does, for metrics. Its methods are called
// from several goroutines and must not block.
type Observer interface {
	// Reconciled is called after each reconcile of a key.
	Reconciled(r Result, d time.Duration)
	// Action is called after each driver step the engine takes for a
	// plan (create, start, stop, remove; a recreate is a stop, remove,
	// create and start), err nil on success.
	Action(kind ActionKind, err error, d time.Duration)
	// DriverOp is called after every driver call ("list", "create", ...).
	DriverOp(op string, err error, d time.Duration)
	// Restarted is called when a container is restarted by its restart
	// policy.
	Restarted(name string)
	// Rejected is called when admission newly rejects a spec (not on every
	// resync of an unchanged rejection).
	Rejected(name string, reason Reason)
	// Converged is called when the host comes to match a snapshot, with
	// the time since the first unapplied change was seen.
	Converged(d time.Duration)
}

// NopObserver ignores everything.
type NopObserver struct{}

func (NopObserver) Reconciled(Result, time.Duration)        {}
func (NopObserver) Action(ActionKind, error, time.Duration) {}
func (NopObserver) DriverOp(string, error, time.Duration)   {}
func (NopObserver) Restarted(string)                        {}
func (NopObserver) Rejected(string, Reason)                 {}
func (NopObserver) Converged(time.Duration)                 {}

var _ Observer = NopObserver{}

// observedDriver reports the duration of every driver call.
type observedDriver struct {
	d   driver.Driver
	obs Observer
}

var _ driver.Driver = observedDriver{}

func (o observedDriver) done(op string, start time.Time, err error) {
	o.obs.DriverOp(op, err, time.Since(start))
}

func (o observedDriver) Host(ctx context.Context) (driver.Host, error) {
	start := time.Now()
	h, err := o.d.Host(ctx)
	o.done("host", start, err)
	return h, err
}

func (o observedDriver) Image(ctx context.Context, ref imageref.Ref) (driver.Image, error) {
	start := time.Now()
	img, err := o.d.Image(ctx, ref)
	o.done("image", start, err)
	return img, err
}

func (o observedDriver) List(ctx context.Context) ([]driver.Container, error) {
	start := time.Now()
	cs, err := o.d.List(ctx)
	o.done("list", start, err)
	return cs, err
}

func (o observedDriver) Create(ctx context.Context, cfg driver.Config) error {
	start := time.Now()
	err := o.d.Create(ctx, cfg)
	o.done("create", start, err)
	return err
}

func (o observedDriver) Start(ctx context.Context, id string) error {
	start := time.Now()
	err := o.d.Start(ctx, id)
	o.done("start", start, err)
	return err
}

func (o observedDriver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	start := time.Now()
	err := o.d.Stop(ctx, id, timeout)
	o.done("stop", start, err)
	return err
}

func (o observedDriver) Remove(ctx context.Context, id string) error {
	start := time.Now()
	err := o.d.Remove(ctx, id)
	o.done("remove", start, err)
	return err
}
