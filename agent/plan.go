package agent

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/isoagent/isoagent/gitverify"
	"github.com/isoagent/isoagent/spec"
)

// plan is what GET /plan answers: the folder read afresh, as the agent
// reads it, and planned with the engine's own options and the policy in
// force (reconcile.Engine.PlanRun). The read leaves the agent's state
// alone: a refused revision is the plan's load error, not reported again.
func (a *Agent) plan(ctx context.Context) (any, error) {
	var l spec.SnapshotLoader = spec.NewLoader(a.cfg.Dir, a.cfg.Loader)
	if a.cfg.GitOps.Keys != nil {
		l = gitverify.NewLoader(a.cfg.Dir, gitverify.LoaderOptions{Keys: a.cfg.GitOps.Keys, Spec: a.cfg.Loader, Logger: slog.New(slog.DiscardHandler)})
	}
	snap, loadErr := l.Load()
	if loadErr != nil {
		loadErr = fmt.Errorf("load %s: %w", a.cfg.Dir, loadErr)
	}
	p, err := a.eng.PlanRun(ctx, snap, loadErr)
	if err != nil {
		return nil, err
	}
	return p, nil
}
