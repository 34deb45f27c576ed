// Package containerlog finds a container's output by its name and prints
// it: `isoagent logs`, from the driver's state folder on this host or
// through the agent's /logs endpoint. A driver that keeps its containers'
// runs (driver.RunKeeper) keeps a CRI log per run (package monitor); the
// current run and the previous one can be read.
package containerlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/isoagent/isoagent/crilog"
	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/monitor"
)

// Errors, told apart with errors.Is.
var (
	// ErrUnknown: no container of the owner has the name.
	ErrUnknown = errors.New("no such container")
	// ErrNeverStarted: the container exists but has not run yet.
	ErrNeverStarted = errors.New("the container has never started")
	// ErrNoPrevious: --previous of a container that has run once.
	ErrNoPrevious = errors.New("the container has no previous run")
	// ErrNotKept: the driver keeps no output.
	ErrNotKept = errors.New("the driver keeps no container output")
)

// Options say what to print.
type Options struct {
	// Previous prints the run before the current one.
	Previous bool
	// Tail, when positive, prints only the last Tail lines.
	Tail int
	// Since, when not zero, leaves out lines printed before it.
	Since time.Time
	// Timestamps prefixes each line with the time it was printed.
	Timestamps bool
	// Follow keeps printing new output until the run ends or ctx does.
	Follow bool
}

// Run finds the folder of the run of container name (of d's owner) that
// opts ask for.
func Run(ctx context.Context, d driver.Driver, name string, previous bool) (string, error) {
	rk, ok := d.(driver.RunKeeper)
	if !ok {
		return "", ErrNotKept
	}
	c, err := Find(ctx, d, name)
	if err != nil {
		return "", err
	}
	runs, err := rk.Runs(c.ID)
	if err != nil {
		return "", fmt.Errorf("the runs of %s: %w", name, err)
	}
	switch {
	case len(runs) == 0 && !c.StartedAt.IsZero():
		// Started, yet no run kept: its runs had no monitor (the
		// simulated host's --sim-monitors=false).
		return "", fmt.Errorf("%q (%s, %s): %w", name, c.ID, c.State, ErrNotKept)
	case len(runs) == 0:
		return "", fmt.Errorf("%q (%s, %s): %w", name, c.ID, c.State, ErrNeverStarted)
	case !previous:
		return runs[len(runs)-1], nil
	case len(runs) < 2:
		return "", fmt.Errorf("%q: %w", name, ErrNoPrevious)
	}
	return runs[len(runs)-2], nil
}

// Find returns the container of d's owner named name; while a container
// is replaced two share its name, and the newer one counts. It wraps
// ErrUnknown when there is none.
func Find(ctx context.Context, d driver.Driver, name string) (driver.Container, error) {
	cs, err := d.List(ctx)
	if err != nil {
		return driver.Container{}, fmt.Errorf("list the containers: %w", err)
	}
	var c *driver.Container
	for i := range cs {
		if cs[i].Name == name && (c == nil || cs[i].CreatedAt.After(c.CreatedAt)) {
			c = &cs[i]
		}
	}
	if c == nil {
		return driver.Container{}, fmt.Errorf("%q: %w (isoagent status lists the containers)", name, ErrUnknown)
	}
	return *c, nil
}

// Copy prints the output of container name to w as opts say.
func Copy(ctx context.Context, w io.Writer, d driver.Driver, name string, opts Options) error {
	dir, err := Run(ctx, d, name, opts.Previous)
	if err != nil {
		return err
	}
	return CopyRun(ctx, w, dir, opts)
}

// CopyRun prints the output of the run in dir to w as opts say; a
// follow ends once the run's monitor has recorded its end and what it
// wrote is printed.
func CopyRun(ctx context.Context, w io.Writer, dir string, opts Options) error {
	ro := crilog.ReadOptions{Tail: opts.Tail, Since: opts.Since, Timestamps: opts.Timestamps, Follow: opts.Follow}
	if opts.Follow {
		ro.Done = func() bool { return monitor.Ended(dir) }
	}
	return crilog.Copy(ctx, w, monitor.LogPath(dir), ro)
}
