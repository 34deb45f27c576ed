package reconcile

import (
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
)

// A container that shares another's network waits for that one to run
// instead of failing against the host: no create fails, whatever the order
// the workers pick the keys in.
func TestEngineSharedNetworkWaitsForItsTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sidecar := ctr("a-sidecar", img2022, func(s *spec.Spec) {
			s.Isolation = spec.IsolationProcess
			s.Network.Mode = "container:z-app"
		})
		app := ctr("z-app", img2022, func(s *spec.Spec) { s.Isolation = spec.IsolationProcess })
		drv := openSim(t, "")
		// The app starts slowly, so the sidecar's worker gets there first.
		drv.InjectFault(sim.Fault{Op: "start", Count: 1, Delay: 3 * time.Second})
		r := start(t, drv, snapshot(sidecar, app))
		r.waitConverged()
		r.requireRunning("a-sidecar", "z-app")
		r.rec.mu.Lock()
		defer r.rec.mu.Unlock()
		if len(r.rec.failed) != 0 {
			t.Errorf("failed actions: %v", r.rec.failed)
		}
	})
}

// networkWait answers from what the engine has cached, whichever way the
// cache changed: the engine's own steps, relists, or a container under
// another name that carries the same ID.
func TestEngineNetworkWaitFollowsTheCache(t *testing.T) {
	drv := openSim(t, "")
	eng := NewEngine(EngineOptions{Driver: drv, Logger: slog.New(slog.DiscardHandler)})
	ctx := t.Context()
	d := &Decision{Config: driver.Config{ID: "side-1", NetworkSharedWith: "app-1"}}
	start := Action{Kind: ActionStart, Name: "side", ID: "side-1"}
	app := driver.Config{ID: "app-1", Name: "app", Owner: "isoagent", Isolation: driver.Process, Image: imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022")}
	setState := func(s driver.State) func() {
		return func() { eng.rec.write("app", withChange("app-1", func(c *driver.Container) { c.State = s })) }
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		what string
		do   func()
		wait bool
	}{
		{"nothing cached", func() {}, true},
		{"created", func() {
			eng.rec.write("app", withContainer(driver.Container{ID: "app-1", Name: "app", State: driver.StateCreated}))
		}, true},
		{"running", setState(driver.StateRunning), false},
		{"another name starts", func() {
			eng.rec.write("other", withContainer(driver.Container{ID: "other-1", Name: "other", State: driver.StateRunning}))
		}, false},
		{"exited", setState(driver.StateExited), true},
		{"running again", setState(driver.StateRunning), false},
		{"gone from the host at a relist", func() { eng.relist(ctx, false) }, true},
		{"found running at a relist", func() {
			must(drv.Create(ctx, app))
			must(drv.Start(ctx, "app-1"))
			eng.relist(ctx, false)
		}, false},
		{"the same ID runs under a second name", func() {
			eng.rec.write("dup", withContainer(driver.Container{ID: "app-1", Name: "dup", State: driver.StateRunning}))
		}, false},
		{"the second name is replaced", func() {
			eng.rec.write("dup", withContainer(driver.Container{ID: "app-1", Name: "dup", State: driver.StateExited}))
		}, false},
		{"stopped by the engine", func() { must(eng.rec.stop(ctx, "app", "app-1", time.Second)) }, true},
		{"started by the engine", func() { must(eng.rec.start(ctx, "app", "app-1")) }, false},
		{"stopped and removed by the engine", func() {
			must(eng.rec.stop(ctx, "app", "app-1", time.Second))
			must(eng.rec.start(ctx, "app", "app-1"))
			must(eng.rec.stop(ctx, "app", "app-1", time.Second))
			must(eng.rec.remove(ctx, "app", "app-1"))
		}, true},
	} {
		step.do()
		if got := eng.rec.networkWait("side", d, start) > 0; got != step.wait {
			t.Errorf("%s: waits %v, want %v", step.what, got, step.wait)
		}
	}
}

// TestEngineSharerOfARefusedOwnerSaysSo pins what status says of a
// container sharing the network of a spec that is refused while its
// container runs: both containers are kept as they are, and the sharer's
// status says its owner runs and that the owner's spec is the one to fix,
// not that the owner "does not run on this host".
func TestEngineSharerOfARefusedOwnerSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		owner := func(image string) *spec.Container {
			return ctr("portal", image, func(s *spec.Spec) { s.Isolation = spec.IsolationProcess })
		}
		sharer := ctr("portal-logs", img2022, func(s *spec.Spec) {
			s.Isolation = spec.IsolationProcess
			s.Network.Mode = "container:portal"
		})
		r := start(t, openSim(t, ""), snapshot(owner(img2022), sharer))
		r.waitConverged()
		before := r.requireRunning("portal", "portal-logs")

		// An edit makes the owner's spec refused (its image cannot run
		// with process isolation here).
		r.apply(snapshot(owner(img2019), sharer))
		r.waitConverged()
		after := r.requireRunning("portal", "portal-logs")
		for _, n := range []string{"portal", "portal-logs"} {
			if after[n].ID != before[n].ID {
				t.Errorf("%s was replaced: %s -> %s", n, before[n].ID, after[n].ID)
			}
		}
		st := r.status("portal-logs")
		if st.State != StateRejected || st.Rejection == nil {
			t.Fatalf("portal-logs: %+v, want rejected", st)
		}
		if msg := st.Rejection.Message; strings.Contains(msg, "does not run") || !strings.Contains(msg, "portal: its spec is rejected (version-mismatch)") {
			t.Errorf("portal-logs' rejection %q: want it to say portal's spec is rejected, and not that portal does not run", msg)
		}
		var kept string
		for _, c := range st.Conditions {
			if c.Type == CondKeptRunning {
				kept = c.Message
			}
		}
		want := "in the network of portal's container " + before["portal"].ID + " (running), which is kept while portal's spec is rejected (version-mismatch); fix portal's spec, not this one"
		if !strings.Contains(kept, want) {
			t.Errorf("portal-logs' KeptRunning %q, want it to contain %q", kept, want)
		}
	})
}
