package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

func TestRolloutsCounted(t *testing.T) {
	reg := NewRegistry()
	m := New(reg, BuildInfo{Version: "test"})
	const head = `
# HELP isoagent_rollouts_total Rollouts of a changed spec that ended, by order (start-first, stop-first) and result (succeeded; failed: the previous configuration runs until the spec changes).
# TYPE isoagent_rollouts_total counter
`
	zero := head + `isoagent_rollouts_total{order="start-first",result="failed"} 0
isoagent_rollouts_total{order="start-first",result="succeeded"} 0
isoagent_rollouts_total{order="stop-first",result="failed"} 0
isoagent_rollouts_total{order="stop-first",result="succeeded"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(zero), "isoagent_rollouts_total"); err != nil {
		t.Errorf("before any rollout: %v", err)
	}
	m.IncRollout(spec.UpdateStartFirst, reconcile.RolloutSucceeded)
	m.IncRollout(spec.UpdateStartFirst, reconcile.RolloutSucceeded)
	m.IncRollout(spec.UpdateStopFirst, reconcile.RolloutFailed)
	m.IncRollout("sideways", reconcile.RolloutFailed)
	want := head + `isoagent_rollouts_total{order="other",result="failed"} 1
isoagent_rollouts_total{order="start-first",result="failed"} 0
isoagent_rollouts_total{order="start-first",result="succeeded"} 2
isoagent_rollouts_total{order="stop-first",result="failed"} 1
isoagent_rollouts_total{order="stop-first",result="succeeded"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isoagent_rollouts_total"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg, "isoagent_rollouts_total"); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
