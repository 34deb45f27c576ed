package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// do performs one planned action against the driver, keeps the cache up to
// date and logs one line.
func (r *containerReconciler) do(ctx context.Context, d *Decision, a Action) error {
	start := time.Now()
	err := r.steps(ctx, a)
	took := time.Since(start)
	log := r.log.With("spec", a.Name, "action", string(a.Kind), "id", a.ID, "reason", a.Reason, "duration", took.Round(time.Millisecond))
	if a.Config != nil {
		log = log.With("isolation", a.Config.Isolation, "image", a.Config.Image)
	} else if d != nil && d.Admitted() {
		log = log.With("isolation", d.Config.Isolation, "image", d.Config.Image)
	}
	if a.Old != "" {
		log = log.With("old", a.Old)
	}
	if err != nil {
		// The controller logs the failure, with what it does next: one
		// line per failure at the levels that are read.
		log.Debug("action failed", "result", "error", "err", err)
		return fmt.Errorf("%s %s: %w", a.Kind, a.Name, err)
	}
	log.Info("action done", "result", "success")
	return nil
}

func (r *containerReconciler) timeout(t spec.Duration) time.Duration {
	if t > 0 {
		return time.Duration(t)
	}
	return r.stopTimeout
}

// steps breaks an action into driver calls, each reported to the observer.
func (r *containerReconciler) steps(ctx context.Context, a Action) error {
	switch a.Kind {
	case ActionCreate:
		return r.createAndStart(ctx, a.Name, *a.Config)
	case ActionRecreate:
		if err := r.stop(ctx, a.Name, a.Old, r.timeout(a.StopTimeout)); err != nil {
			return err
		}
		if err := r.remove(ctx, a.Name, a.Old); err != nil {
			return err
		}
		return r.createAndStart(ctx, a.Name, *a.Config)
	case ActionStart:
		return r.start(ctx, a.Name, a.ID)
	case ActionStop:
		return r.stop(ctx, a.Name, a.ID, r.timeout(a.StopTimeout))
	case ActionRemove:
		return r.remove(ctx, a.Name, a.ID)
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

func (r *containerReconciler) step(kind ActionKind, f func() error) error {
	start := time.Now()
	err := f()
	r.obs.Action(kind, err, time.Since(start))
	return err
}

// write records in the cache what a step just did to the host: the newest
// look there is.
func (r *containerReconciler) write(name string, f func([]driver.Container) []driver.Container) {
	r.cache.Write(r.cache.Begin(), name, f)
}

func (r *containerReconciler) createAndStart(ctx context.Context, name string, cfg driver.Config) error {
	err := r.step(ActionCreate, func() error { return r.drv.Create(ctx, cfg) })
	if err != nil && !errors.Is(err, driver.ErrAlreadyExists) {
		return err
	}
	r.write(name, withContainer(driver.Container{
		ID: cfg.ID, Name: cfg.Name, Owner: cfg.Owner, Hash: cfg.Hash, Isolation: cfg.Isolation,
		Image: cfg.Image, State: driver.StateCreated, CreatedAt: time.Now(), KeepOnPrune: cfg.KeepOnPrune,
	}))
	return r.start(ctx, name, cfg.ID)
}

func (r *containerReconciler) start(ctx context.Context, name, id string) error {
	if err := r.step(ActionStart, func() error { return r.drv.Start(ctx, id) }); err != nil {
		return err
	}
	r.write(name, withChange(id, func(c *driver.Container) {
		c.State, c.StartedAt, c.FinishedAt, c.ExitCode = driver.StateRunning, time.Now(), time.Time{}, 0
	}))
	r.learnStarted(ctx, name, id)
	return nil
}

// learnStarted learns what the driver knows of a container just started:
// its init PID or utility VM, and a run that ended at once. A driver that
// reads one container (driver.Inspector) is asked for that one; otherwise,
// or when it cannot tell, a relist soon asks for every container, which
// at ten thousand costs an edit tens of milliseconds. An exit after the
// look is the driver's Watch's to report.
func (r *containerReconciler) learnStarted(ctx context.Context, name, id string) {
	if r.inspector == nil {
		r.relist()
		return
	}
	v := r.cache.Begin() // before the look: what is learnt after it wins
	c, err := r.inspector.Inspect(ctx, id)
	if err != nil {
		// Gone already, or the driver cannot say: the relist tells.
		r.log.Debug("cannot inspect a container just started; relisting", "spec", name, "id", id, "err", err)
		r.relist()
		return
	}
	if _, changed := r.cache.Write(v, name, withChange(id, func(x *driver.Container) { *x = c })); changed && r.enqueue != nil {
		// It ended at once: its restart policy acts now.
		r.enqueue([]string{name})
	}
}

func (r *containerReconciler) stop(ctx context.Context, name, id string, timeout time.Duration) error {
	if r.exits != nil {
		r.exits.expect(id)
	}
	err := r.step(ActionStop, func() error { return r.drv.Stop(ctx, id, timeout) })
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	r.write(name, withChange(id, func(c *driver.Container) {
		if c.State != driver.StateExited {
			c.State, c.FinishedAt = driver.StateExited, time.Now()
		}
		c.InitPID, c.UtilityVM = 0, nil
	}))
	return nil
}

func (r *containerReconciler) remove(ctx context.Context, name, id string) error {
	err := r.step(ActionRemove, func() error { return r.drv.Remove(ctx, id) })
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	r.write(name, without(id))
	return nil
}
