package reconcile

import (
	"context"
	"time"
)

// Convergence is what WaitSettled reports: whether the engine converged,
// and on what.
type Convergence struct {
	Converged bool `json:"converged"`
	// Revision is the spec folder's revision in force, when it has one.
	Revision string `json:"revision,omitempty"`
	// Specs is how many specs the desired state in force declares.
	Specs int `json:"specs"`
	// Rejected are the specs meant for this host that do not run as
	// declared (Status.Refused), and InvalidFiles the spec files that do
	// not validate: converged, the host still is not what the folder
	// says. A caller that waits for the folder to be applied fails on
	// them unless told otherwise.
	Rejected     []Refusal    `json:"rejected,omitempty"`
	InvalidFiles []FileStatus `json:"invalidFiles,omitempty"`
	// Conditions are the engine-wide conditions that hold (an ignored
	// empty folder, an invalid policy, ...), as Status has them.
	Conditions []Condition `json:"conditions,omitempty"`
	// NotHealthy names the running containers whose health check has not
	// passed yet, or fails: a wait is not over while there are any.
	NotHealthy []string `json:"notHealthy,omitempty"`
}

// Clean reports that the engine converged with no spec refused and no
// file invalid.
func (c Convergence) Clean() bool {
	return c.Converged && len(c.Rejected) == 0 && len(c.InvalidFiles) == 0
}

// WaitSettled blocks until the engine has converged and is converged
// still, settle later, with no new snapshot or policy handed in between,
// or until ctx ends. A caller that wrote the
// spec folder just before gives a settle longer than the watcher's
// debounce cap, so that its change is seen before convergence counts. It
// does not poll: it waits on the tracker's signal, so that any number of
// waiters cost the engine nothing while it works.
func (e *Engine) WaitSettled(ctx context.Context, settle time.Duration) Convergence {
	for {
		select {
		case <-e.track.convergedC():
		case <-ctx.Done():
			return e.convergence(false)
		}
		gen := e.track.wanted()
		t := time.NewTimer(settle)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return e.convergence(false)
		}
		// Converged still, on the same desired state: a resync that
		// looked at every key and found nothing to do in between is no
		// break.
		if e.track.converged() && e.track.wanted() == gen {
			if !e.health.waitHealthy(ctx) {
				return e.convergence(false)
			}
			if e.track.converged() && e.track.wanted() == gen {
				return e.convergence(true)
			}
		}
	}
}

func (e *Engine) convergence(converged bool) Convergence {
	c := Convergence{Converged: converged}
	if ds := e.desired.Load(); ds != nil {
		c.Revision, c.Specs = ds.snap.Revision, len(ds.decisions)
	}
	if converged {
		st := e.Status()
		c.Rejected, c.InvalidFiles, c.Conditions = st.Refused(), st.Files, st.Conditions
	} else {
		c.NotHealthy = e.health.notHealthy()
	}
	return c
}
