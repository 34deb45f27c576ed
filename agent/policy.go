package agent

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// policyStartError logs each problem of a policy file the agent cannot
// start with on its own line, and returns the error that stops it.
func policyStartError(logger *slog.Logger, path string, err error) error {
	problems := spec.Errors(err)
	for _, e := range problems {
		logger.Error("invalid policy file", "problem", e.Error())
	}
	return fmt.Errorf("policy file %s is not usable (%d problems, logged above); fix it, or run without --policy to allow nothing that pierces isolation", path, len(problems))
}

// policyFollower applies every change of the policy file to the engine and
// reports whether the file is usable in status and in the
// isoagent_policy_valid gauge.
type policyFollower struct {
	watcher *spec.FileWatcher[*policy.Policy]
	eng     *reconcile.Engine
	metrics *metrics.Metrics
}

// Run follows the policy file until ctx is done.
func (f *policyFollower) Run(ctx context.Context) error {
	return follow(ctx, f.watcher, f.apply)
}

func (f *policyFollower) apply(u spec.FileUpdate[*policy.Policy]) {
	if u.Err != nil {
		f.eng.SetPolicyError(u.Err)
		f.metrics.SetPolicyValid(false)
		return
	}
	pc, err := policy.NewChecker(u.Value)
	if err != nil {
		// policy.Parse validated it; this would be a bug, and the policy in
		// force stays.
		f.eng.SetPolicyError(err)
		f.metrics.SetPolicyValid(false)
		return
	}
	f.eng.SetPolicy(pc)
	f.eng.SetPolicyError(nil)
	f.metrics.SetPolicyValid(true)
}
