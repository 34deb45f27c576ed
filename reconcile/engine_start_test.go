package reconcile

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/spec"
)

// Issue 20 point 4: an engine whose first Lists fail does not know what
// runs; it must not create containers next to the ones it cannot see, nor
// stop or remove any, until a List has succeeded.
func TestEngineActsOnlyAfterAListSucceeded(t *testing.T) {
	edits := map[string]func(*spec.Spec){
		"edited":    func(s *spec.Spec) { s.Command = []string{"ping", "-t", "localhost"} },
		"unchanged": func(*spec.Spec) {},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				var specs, changed []*spec.Container
				for _, n := range []string{"a", "b", "c", "d", "e"} {
					specs = append(specs, ctr(n, img2022))
					changed = append(changed, ctr(n, img2022, edit))
				}
				first := start(t, openSim(t, dir), snapshot(specs...))
				first.waitConverged()
				before := first.containers()
				first.stop()

				drv := openSim(t, dir)
				if err := drv.InjectFault(sim.Fault{Op: driver.OpList, Count: 3, Err: driver.ErrUnavailable}); err != nil {
					t.Fatal(err)
				}
				second := start(t, drv, snapshot(changed...))
				second.settle(500 * time.Millisecond)
				if got := second.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
					t.Errorf("acted before a List succeeded: %s", got)
				}
				st := second.eng.Status()
				if st.Ready || !hasCondition(st.Conditions, CondHostNotListed) {
					t.Errorf("status before a List succeeded: ready %v, conditions %+v", st.Ready, st.Conditions)
				}
				if err := second.eng.NotReady(); err == nil || !strings.Contains(err.Error(), "not been listed") {
					t.Errorf("NotReady = %v, want the host not listed yet", err)
				}

				second.waitConverged()
				after := second.requireRunning("a", "b", "c", "d", "e") // and one container each
				if hasCondition(second.eng.Status().Conditions, CondHostNotListed) || second.eng.NotReady() != nil {
					t.Errorf("still not listed after converging: %+v, %v", second.eng.Status().Conditions, second.eng.NotReady())
				}
				for n, c := range before {
					if same := after[n].ID == c.ID; same != (name == "unchanged") {
						t.Errorf("%s: %s -> %s", n, c.ID, after[n].ID)
					}
				}
				want := "create=5 start=5 stop=5 remove=5"
				if name == "unchanged" {
					want = "create=0 start=0 stop=0 remove=0"
				}
				if got := second.rec.counts(); got != want {
					t.Errorf("actions %s, want %s", got, want)
				}
			})
		})
	}
}

// A first List that hangs is as unknown a host as one that fails: nothing
// is done, readiness says why, and once it has hung for longer than twice
// the resync interval so does Health.
func TestEngineFirstListHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		if err := drv.InjectFault(sim.Fault{Op: driver.OpList, Count: 1, Delay: 3 * testResync}); err != nil {
			t.Fatal(err)
		}
		r := start(t, drv, snapshot(threeSpecs()...))
		r.settle(testResync)
		if err := r.eng.Health(); err != nil {
			t.Errorf("Health after %v = %v, want nil (not yet twice the resync)", testResync, err)
		}
		if err := r.eng.NotReady(); err == nil || !strings.Contains(err.Error(), "not been listed") {
			t.Errorf("NotReady = %v, want the host not listed yet", err)
		}
		r.settle(testResync + time.Second)
		if err := r.eng.Health(); err == nil || !strings.Contains(err.Error(), "not been listed") {
			t.Errorf("Health after %v = %v, want the host not listed", 2*testResync+time.Second, err)
		}
		if got := r.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
			t.Errorf("acted while the first List hung: %s", got)
		}
		r.waitConverged()
		r.requireRunning("a", "b", "c")
		if err := r.eng.Health(); err != nil {
			t.Errorf("Health once listed = %v", err)
		}
	})
}
