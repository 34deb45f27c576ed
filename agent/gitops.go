package agent

import (
	"context"
	"fmt"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/gitverify"
	"github.com/isoagent/isoagent/internal/agentstate"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// GitOps are the guard rails of a spec folder many people push to (issue
// 18): signed revisions, secrets kept out of the folder, a prune budget.
// The zero value asks for none but the default prune budget.
type GitOps struct {
	// Keys, when set, has the folder read from verified git commits only
	// (package gitverify): the last verified revision stays in force
	// while the checkout is at a refused one.
	Keys *gitverify.Keyring
	// Secrets, when set, is where admission reads the secrets specs name;
	// give the driver the same source.
	Secrets driver.SecretSource
	// MaxPrune bounds how many containers one change may prune.
	MaxPrune reconcile.PruneBudget
	// StateDir, when set, is where the agent remembers the spec folder it
	// ran on: started on another one, with containers of its owner on the
	// host, it holds its prunes until they are confirmed.
	StateDir string
}

// loader returns how the folder is read, reporting refused revisions.
func (a *Agent) loader() spec.SnapshotLoader {
	if a.cfg.GitOps.Keys == nil {
		return spec.NewLoader(a.cfg.Dir, a.cfg.Loader)
	}
	return gitverify.NewLoader(a.cfg.Dir, gitverify.LoaderOptions{
		Keys: a.cfg.GitOps.Keys, Spec: a.cfg.Loader, Logger: a.log, OnRefused: a.revisionRefused,
	})
}

// revisionRefused reports a refused revision (nil: verified again) in
// status and metrics; the loader has logged it, once.
func (a *Agent) revisionRefused(r *gitverify.RefusalError) {
	if r == nil {
		a.eng.SetRevisionRefused(nil)
		a.metrics.SetRevisionRefused("", "")
		return
	}
	a.eng.SetRevisionRefused(r)
	a.metrics.SetRevisionRefused(r.Revision, r.Reason)
}

// pruneHold says whether prunes are held from the start: the agent runs on
// another folder than its state remembers and its owner has containers.
// save records the folder in force; it is called at once when nothing is
// held, else when the hold is released.
func (a *Agent) pruneHold(ctx context.Context) (hold string, save func(), err error) {
	if a.cfg.GitOps.StateDir == "" {
		return "", func() {}, nil
	}
	f := agentstate.Open(a.cfg.GitOps.StateDir, a.cfg.Owner)
	st, err := f.Load()
	if err != nil {
		return "", nil, err
	}
	abs := agentstate.Abs(a.cfg.Dir)
	save = func() {
		if err := f.Save(agentstate.State{Dir: abs}); err != nil {
			a.log.Error("cannot remember the spec folder", "err", err)
		}
	}
	if st.Dir == "" || agentstate.SameDir(st.Dir, abs) {
		return "", save, nil
	}
	cs, err := a.drv.List(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("list the containers of owner %s: %w", a.cfg.Owner, err)
	}
	if len(cs) == 0 {
		return "", save, nil
	}
	a.log.Warn("the spec folder is not the one of the last run; prunes are held until confirmed", "dir", abs, "last", st.Dir, "containers", len(cs))
	return fmt.Sprintf("the agent runs on spec folder %s, not on %s as last time, and owner %s has %d containers", abs, st.Dir, a.cfg.Owner, len(cs)), save, nil
}

func pendingCount(p *reconcile.PendingPrune) int {
	if p == nil {
		return 0
	}
	return len(p.Names)
}
