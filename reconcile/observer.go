package reconcile

import (
	"context"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
)

// Outcome is what came of one reconcile of a key, as a metric label value
// (isoagent_reconcile_total's result).
type Outcome string

// Reconcile outcomes.
const (
	OutcomeSuccess Outcome = "success" // the key is done until something changes
	OutcomeError   Outcome = "error"   // it failed; retried with backoff unless terminal
	OutcomeRequeue Outcome = "requeue" // it waits (crash backoff, a network to share) and comes back
)

// Outcomes returns every Outcome.
func Outcomes() []Outcome { return []Outcome{OutcomeSuccess, OutcomeError, OutcomeRequeue} }

// Observer is told what the engine does, for metrics. Its methods are called
// from several goroutines and must not block.
type Observer interface {
	// Reconciled is called after each reconcile of a key.
	Reconciled(o Outcome, d time.Duration)
	// Action is called after each driver step the engine takes for a
	// plan (one of StepKinds), err nil on success.
	Action(kind ActionKind, err error, d time.Duration)
	// DriverOp is called after every driver call.
	DriverOp(op driver.Op, err error, d time.Duration)
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

func (NopObserver) Reconciled(Outcome, time.Duration)        {}
func (NopObserver) Action(ActionKind, error, time.Duration)  {}
func (NopObserver) DriverOp(driver.Op, error, time.Duration) {}
func (NopObserver) Restarted(string)                         {}
func (NopObserver) Rejected(string, Reason)                  {}
func (NopObserver) Converged(time.Duration)                  {}

var _ Observer = NopObserver{}

// observedDriver reports the duration of every driver call.
type observedDriver struct {
	d   driver.Driver
	obs Observer
}

var _ driver.Driver = observedDriver{}

func (o observedDriver) done(op driver.Op, start time.Time, err error) {
	o.obs.DriverOp(op, err, time.Since(start))
}

func (o observedDriver) Host(ctx context.Context) (driver.Host, error) {
	start := time.Now()
	h, err := o.d.Host(ctx)
	o.done(driver.OpHost, start, err)
	return h, err
}

func (o observedDriver) Image(ctx context.Context, ref imageref.Ref) (driver.Image, error) {
	start := time.Now()
	img, err := o.d.Image(ctx, ref)
	o.done(driver.OpImage, start, err)
	return img, err
}

func (o observedDriver) List(ctx context.Context) ([]driver.Container, error) {
	start := time.Now()
	cs, err := o.d.List(ctx)
	o.done(driver.OpList, start, err)
	return cs, err
}

func (o observedDriver) Create(ctx context.Context, cfg driver.Config) error {
	start := time.Now()
	err := o.d.Create(ctx, cfg)
	o.done(driver.OpCreate, start, err)
	return err
}

func (o observedDriver) Start(ctx context.Context, id string) error {
	start := time.Now()
	err := o.d.Start(ctx, id)
	o.done(driver.OpStart, start, err)
	return err
}

func (o observedDriver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	start := time.Now()
	err := o.d.Stop(ctx, id, timeout)
	o.done(driver.OpStop, start, err)
	return err
}

func (o observedDriver) Remove(ctx context.Context, id string) error {
	start := time.Now()
	err := o.d.Remove(ctx, id)
	o.done(driver.OpRemove, start, err)
	return err
}
