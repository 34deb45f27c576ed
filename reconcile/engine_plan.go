package reconcile

import (
	"context"

	"github.com/isoagent/isoagent/spec"
)

// PlanRun is the package's PlanRun on the engine's host with the
// engine's own options: its owner, host name, labels, secrets, images,
// prune budget, empty-folder rule, and the policy in force now. It is
// what `isoagent plan --addr` asks a running agent, so that the plan is
// made with what the agent runs with rather than flags that may differ.
// snap and loadErr are a read of the folder, as for PlanRun.
func (e *Engine) PlanRun(ctx context.Context, snap *spec.Snapshot, loadErr error) (RunPlan, error) {
	admit := e.opts.Admit
	e.intake.mu.Lock()
	admit.Policy = e.intake.policy
	e.intake.mu.Unlock()
	return PlanRun(ctx, e.drv, snap, loadErr, RunPlanOptions{Admit: admit, AllowEmpty: e.opts.AllowEmpty, MaxPrune: e.opts.MaxPrune})
}
