package reconcile

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/spec"
)

func TestWaitSettled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		specs := threeSpecs()
		r := start(t, openSim(t, ""), snapshot(specs...))
		r.waitConverged()

		// Converged and quiet: it answers once settle has passed.
		begin := time.Now()
		c := r.eng.WaitSettled(t.Context(), 1500*time.Millisecond)
		if !c.Converged || c.Specs != 3 || time.Since(begin) != 1500*time.Millisecond {
			t.Fatalf("WaitSettled on a quiet host = %+v after %v, want converged on 3 specs after 1.5s", c, time.Since(begin))
		}

		// A change during the settle restarts it: the answer comes only
		// once the change has converged and settle has passed again.
		got := make(chan Convergence, 1)
		begin = time.Now()
		go func() { got <- r.eng.WaitSettled(t.Context(), 1500*time.Millisecond) }()
		time.Sleep(time.Second)
		synctest.Wait()
		next := append(specs[:2:2], ctr("d", img2022))
		r.apply(snapshot(next...))
		c = <-got
		if !c.Converged || c.Specs != 3 || time.Since(begin) < 2500*time.Millisecond {
			t.Fatalf("WaitSettled across a change = %+v after %v, want converged after the change plus 1.5s", c, time.Since(begin))
		}
		if _, ok := r.containers()["d"]; !ok {
			t.Fatalf("converged before d was created: %v", r.containers())
		}

		// A deadline first: not converged.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if c := r.eng.WaitSettled(ctx, 2*time.Second); c.Converged {
			t.Fatalf("WaitSettled past its deadline = %+v, want not converged", c)
		}
	})
}

// TestWaitSettledNamesWhatDoesNotRun pins that a convergence carries the
// specs meant for this host that do not run as declared (refused, or
// losing their name to another file) and the invalid files, and leaves
// out the specs meant for other hosts: "converged" alone would hide them.
func TestWaitSettledNamesWhatDoesNotRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		web := ctr("web", img2022)
		old := ctr("old", img2019, isolation(spec.IsolationProcess))
		gpu := ctr("gpu", img2022, func(s *spec.Spec) { s.Hosts = []string{"GPU-*"} })
		snap := snapshot(web, old, gpu)
		snap.Files = append(snap.Files, spec.File{Path: "specs/broken.yaml", Err: errors.New("specs/broken.yaml:3:1: spec.image: required")})
		snap.Conflicts = []spec.Conflict{{Name: "web", Loser: spec.Source{File: "specs/web-copy.yaml", Line: 1}, Winner: web.Source}}
		r := start(t, openSim(t, ""), snap)
		r.waitConverged()

		c := r.eng.WaitSettled(t.Context(), time.Second)
		if !c.Converged || c.Clean() {
			t.Fatalf("WaitSettled = %+v, want converged but not clean", c)
		}
		var got []string
		for _, x := range c.Rejected {
			got = append(got, string(x.Reason)+" "+x.Name+" "+x.Source.File)
		}
		want := []string{"version-mismatch old " + old.Source.File, "duplicate web specs/web-copy.yaml"}
		if !slices.Equal(got, want) {
			t.Errorf("rejected %q, want %q", got, want)
		}
		if len(c.InvalidFiles) != 1 || c.InvalidFiles[0].Path != "specs/broken.yaml" {
			t.Errorf("invalid files %+v, want specs/broken.yaml", c.InvalidFiles)
		}

		if len(c.Conditions) != 1 || c.Conditions[0].Type != CondPruneSuspended {
			t.Errorf("conditions %+v, want PruneSuspended (an invalid file's names are unknown)", c.Conditions)
		}

		// Fixed, it is clean.
		r.apply(snapshot(web, gpu))
		if c := r.eng.WaitSettled(t.Context(), time.Second); !c.Clean() {
			t.Errorf("WaitSettled after the fix = %+v, want clean", c)
		}
	})
}
