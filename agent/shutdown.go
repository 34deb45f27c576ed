package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// StopContainers stops the agent's running containers for a system
// shutdown (see stopForShutdown). Call it after Run has returned, so that
// the engine no longer starts them again.
func (a *Agent) StopContainers(ctx context.Context) error {
	return stopForShutdown(ctx, a.drv, a.cfg.Owner, a.cfg.Dir, a.cfg.Loader, a.log)
}

// stopForShutdown stops every running container of owner on drv, all at
// once, each with the stopTimeout of its spec in folder dir, read with
// opts (the default where the folder has none for it, or cannot be read). moby stops every
// container when its daemon shuts down (Windows has no live restore); the
// agent does so only when the system shuts down, since Windows would end
// the containers then without their grace.
func stopForShutdown(ctx context.Context, drv driver.Driver, owner, dir string, opts spec.LoaderOptions, log *slog.Logger) error {
	graces := map[string]time.Duration{}
	if snap, err := spec.NewLoader(dir, opts).Load(); err != nil {
		log.Warn("cannot read the spec folder for the containers' stop timeouts; each gets the default", "dir", dir, "default", time.Duration(spec.DefaultStopTimeout), "err", err)
	} else {
		for _, c := range snap.Specs {
			if c.Spec.StopTimeout > 0 {
				graces[c.Name()] = time.Duration(c.Spec.StopTimeout)
			}
		}
	}
	cs, err := drv.List(ctx)
	if err != nil {
		return fmt.Errorf("list the containers to stop: %w", err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, c := range cs {
		if c.Owner != owner || c.State != driver.StateRunning {
			continue
		}
		grace, ok := graces[c.Name]
		if !ok {
			grace = time.Duration(spec.DefaultStopTimeout)
		}
		log.Info("stopping container for the system shutdown", "spec", c.Name, "id", c.ID, "stop_timeout", grace)
		wg.Go(func() {
			if err := drv.Stop(ctx, c.ID, grace); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("stop %s (%s): %w", c.Name, c.ID, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
