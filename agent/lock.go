package agent

import (
	"fmt"

	"github.com/isoagent/isoagent/internal/agentstate"
)

// lockOwner takes the lock of the agent's owner in its state folder
// (GitOps.StateDir), so that a second agent of the same owner on this host
// (a service started twice, or one by hand next to the service) refuses
// to start rather than prune what the first runs. Without a state folder
// there is nothing to lock and it returns a nil lock, whose Release does
// nothing.
func (a *Agent) lockOwner() (*agentstate.Lock, error) {
	if a.cfg.GitOps.StateDir == "" {
		return nil, nil
	}
	l, err := agentstate.Acquire(a.cfg.GitOps.StateDir, a.cfg.Owner, agentstate.Abs(a.cfg.Dir))
	if err != nil {
		return nil, fmt.Errorf("one agent per owner: %w", err)
	}
	return l, nil
}
