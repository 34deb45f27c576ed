package reconcile

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// A rollout of a spec with a health check waits for the new container's
// health, not for it to run: one that runs but never passes its check is
// removed, and the old one serves on; one that passes takes over.
func TestRolloutWaitsForHealth(t *testing.T) {
	for _, tt := range []struct {
		name    string
		serve   []string // the new container's simserve arguments
		want    RolloutResult
		replace bool
	}{
		{"healthy", nil, RolloutSucceeded, true},
		{"never healthy", []string{"-fail-first", "1000"}, RolloutFailed, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				v1 := ctr("web", img2022, env("1"), serving(), curlCheck, update(spec.UpdateStartFirst, 2*time.Minute))
				r, obs := startRollouts(t, openSim(t, ""), snapshot(v1), nil)
				r.waitConverged()
				r.settle(30 * time.Second)
				old := r.byName("web")
				if len(old) != 1 {
					t.Fatalf("before the change: %s", states(old))
				}
				r.apply(snapshot(ctr("web", img2022, env("2"), serving(tt.serve...), curlCheck, update(spec.UpdateStartFirst, 2*time.Minute))))
				// Running for longer than a check-less container needs, the
				// new one has had no passing probe yet (the first is due
				// one interval after its start).
				r.settle(time.Duration(spec.DefaultUpdateMonitor) + 2*time.Second)
				if during := r.byName("web"); len(during) != 2 {
					t.Fatalf("%v into the rollout: %s, want the old and the new container", time.Duration(spec.DefaultUpdateMonitor)+2*time.Second, states(during))
				}
				// Three failed probes 10s apart make the new one unhealthy
				// well within the 2m timeout: the rollout fails then, and
				// the new container is not restarted as a serving one is.
				r.settle(time.Minute)
				after := r.byName("web")
				if len(after) != 1 || after[0].State != driver.StateRunning || (after[0].ID != old[0].ID) != tt.replace {
					t.Fatalf("after the rollout: %s (old %s), want replaced %v", states(after), old[0].ID, tt.replace)
				}
				if got := obs.results(); len(got) != 1 || got[0] != "web start-first "+string(tt.want) {
					t.Errorf("rollouts reported %q, want one %s", got, tt.want)
				}
				st := r.status("web")
				if st.RestartCount != 0 {
					t.Errorf("restarted %d times during the rollout, want none", st.RestartCount)
				}
				if tt.want == RolloutFailed && (st.Rollout == nil || !strings.Contains(st.Rollout.Failed, "unhealthy")) {
					t.Errorf("failed rollout %+v, want it to say the new container turned unhealthy", st.Rollout)
				}
			})
		})
	}
}
