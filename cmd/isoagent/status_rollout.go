package main

import (
	"fmt"
	"time"

	"github.com/isoagent/isoagent/reconcile"
)

// rolloutNote is what the NOTE of `isoagent status` says of a rollout: the
// one in progress, with when it fails unless the new container is ready,
// or why the last one failed; "" when there is none.
func rolloutNote(r *reconcile.RolloutStatus, now time.Time) string {
	switch {
	case r == nil:
		return ""
	case r.Failed != "":
		return "rollout failed: " + r.Failed
	}
	left := r.Deadline.Sub(now).Round(time.Second)
	return fmt.Sprintf("rolling out %s from %s to %s (fails in %s unless ready)", r.Order, r.From, r.To, max(left, 0))
}
