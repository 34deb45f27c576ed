package reconcile

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/spec"
)

func openSimAs(t *testing.T, dir, owner string) *sim.Driver {
	t.Helper()
	d, err := sim.Open(dir, sim.Options{Owner: owner, Host: driver.Host{Name: "WEB-01"}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Issue 20 point 6: two agents of different owners over one folder on one
// host each run their own containers; the default owner's keep the IDs
// they always had. A container another owner created before the owner was
// part of the ID, under the ID the default owner's takes, is recreated
// under its own, and the default owner's can then run.
func TestEngineOwnersNeverCollide(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		name := "fresh host"
		if legacy {
			name = "teamb ran before the owner was in the ID"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				specs := []*spec.Container{ctr("web", img2022), ctr("api", img2022, func(s *spec.Spec) {
					s.Command = []string{"ping", "-t", "localhost"}
				})}
				if legacy {
					d := admitted(t, specs[0])[0]
					old := d.Config
					old.Owner = "teamb"
					drv := openSimAs(t, dir, "teamb")
					if err := drv.Create(context.Background(), old); err != nil {
						t.Fatal(err)
					}
					if err := drv.Start(context.Background(), old.ID); err != nil {
						t.Fatal(err)
					}
				}
				teamb := start(t, openSimAs(t, dir, "teamb"), snapshot(specs...), func(o *EngineOptions) { o.Owner = "teamb" })
				teamb.waitConverged()
				def := start(t, openSimAs(t, dir, ""), snapshot(specs...))
				def.waitConverged()

				mine, theirs := def.requireRunning("web", "api"), teamb.requireRunning("web", "api")
				for _, d := range admitted(t, specs...) {
					n := d.Name()
					if mine[n].ID != d.Config.ID || mine[n].ID != n+"-"+d.Config.Hash[:12] {
						t.Errorf("default owner's %s: ID %s, want %s as before", n, mine[n].ID, d.Config.ID)
					}
					if theirs[n].ID == mine[n].ID || theirs[n].Owner != "teamb" || theirs[n].Hash != d.Config.Hash {
						t.Errorf("%s: teamb's %+v next to the default owner's %+v", n, theirs[n], mine[n])
					}
				}
				if got := def.rec.counts(); got != "create=2 start=2 stop=0 remove=0" {
					t.Errorf("default owner: %s", got)
				}
				want := "create=2 start=2 stop=0 remove=0"
				if legacy {
					want = "create=2 start=2 stop=1 remove=1"
				}
				if got := teamb.rec.counts(); got != want {
					t.Errorf("teamb: %s, want %s", got, want)
				}

				// Restarted, both adopt what runs.
				def.stop()
				teamb.stop()
				again := start(t, openSimAs(t, dir, "teamb"), snapshot(specs...), func(o *EngineOptions) { o.Owner = "teamb" })
				again.waitConverged()
				if got := again.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
					t.Errorf("teamb restarted: %s", got)
				}
			})
		})
	}
}
