package reconcile

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
)

// Nothing lost: each case would stop or remove a container if the rule were
// broken.
func TestEngineNothingLost(t *testing.T) {
	specs := threeSpecs()
	invalidErr := errors.New("a.yaml:3:1: spec.image: required")
	tests := []struct {
		name  string
		snap  *spec.Snapshot
		err   error
		check func(t *testing.T, r *rig)
	}{
		{
			name: "an invalid file keeps its last-known-good specs",
			snap: func() *spec.Snapshot {
				s := snapshot(specs...)
				s.Files[0].Err, s.Files[0].Stale = invalidErr, true
				return s
			}(),
			check: func(t *testing.T, r *rig) {
				if st := r.status("a"); st.State != StateRunning || !hasCondition(st.Conditions, CondInvalid) {
					t.Errorf("status %+v", st)
				}
				if fs := r.eng.Status().Files; len(fs) != 1 || !fs[0].Stale || fs[0].Errors[0] != invalidErr.Error() {
					t.Errorf("invalid files %+v", fs)
				}
			},
		},
		{
			name: "an invalid file whose specs are unknown suspends pruning",
			snap: func() *spec.Snapshot {
				s := snapshot(specs[1:]...)
				s.Files = append(s.Files, spec.File{Path: "a.yaml", Err: invalidErr})
				return s
			}(),
			check: func(t *testing.T, r *rig) {
				if st := r.status("a"); st.State != StateOrphaned {
					t.Errorf("status %+v", st)
				}
				if !hasCondition(r.eng.Status().Conditions, CondPruneSuspended) {
					t.Error("no PruneSuspended condition")
				}
			},
		},
		{
			name: "a folder that cannot be read keeps the desired state",
			err:  errors.New("open specs: no such file or directory"),
			check: func(t *testing.T, r *rig) {
				if !hasCondition(r.eng.Status().Conditions, CondLoadFailed) {
					t.Error("no LoadFailed condition")
				}
			},
		},
		{
			name: "an empty folder prunes nothing",
			snap: &spec.Snapshot{Dir: "specs"},
			check: func(t *testing.T, r *rig) {
				if !hasCondition(r.eng.Status().Conditions, CondEmptyIgnored) {
					t.Error("no EmptyFolderIgnored condition")
				}
			},
		},
		{
			name: "a duplicate name is a conflict, not a flap",
			snap: func() *spec.Snapshot {
				s := snapshot(specs...)
				dup := *specs[0]
				dup.Spec.Image = imageref.MustParse(img2019)
				dup.Source.File = "z.yaml"
				s.Conflicts = []spec.Conflict{{Name: "a", Loser: dup.Source, Winner: specs[0].Source}}
				return s
			}(),
			check: func(t *testing.T, r *rig) {
				if st := r.status("a"); !hasCondition(st.Conditions, CondConflict) {
					t.Errorf("status %+v", st)
				}
			},
		},
		{
			name: "a spec that turns unrunnable keeps its container",
			snap: func() *spec.Snapshot {
				bad := *specs[0]
				bad.Spec.Image = imageref.MustParse(img2019)
				return snapshot(&bad, specs[1], specs[2])
			}(),
			check: func(t *testing.T, r *rig) {
				if st := r.status("a"); st.State != StateRejected || !hasCondition(st.Conditions, CondKeptRunning) {
					t.Errorf("status %+v", st)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := start(t, openSim(t, ""), snapshot(specs...))
				r.waitConverged()
				before := r.containers()
				r.rec.reset()
				r.eng.Update(tt.snap)
				if tt.err != nil {
					r.eng.SetLoadError(tt.err)
				}
				r.settle(3 * testResync)
				if got := r.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
					t.Errorf("actions %s, want none", got)
				}
				after := r.requireRunning("a", "b", "c")
				for n, c := range before {
					if after[n].ID != c.ID {
						t.Errorf("%s replaced", n)
					}
				}
				tt.check(t, r)
			})
		})
	}
}

// After a restart the agent knows nothing: a folder that is missing or
// empty from the start must not prune what the previous run left.
func TestEngineStartsWithoutFolderAndPrunesNothing(t *testing.T) {
	for _, tt := range []struct {
		name string
		snap *spec.Snapshot
		err  error
	}{
		{"missing folder", nil, errors.New("no such folder")},
		{"empty folder", &spec.Snapshot{Dir: "specs"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				first := start(t, openSim(t, dir), snapshot(threeSpecs()...))
				first.waitConverged()
				first.stop()
				second := start(t, openSim(t, dir), tt.snap)
				if tt.err != nil {
					second.eng.SetLoadError(tt.err)
				}
				second.settle(3 * testResync)
				if got := second.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
					t.Errorf("actions %s", got)
				}
				second.requireRunning("a", "b", "c")
			})
		})
	}
}

// With a prune budget that allows it (an empty folder is a change like
// any other: under the default budget it waits for a confirmation, see
// TestEnginePruneBudget).
func TestEngineAllowEmptyPrunesEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, openSim(t, ""), snapshot(threeSpecs()...), func(o *EngineOptions) { o.AllowEmpty = true; o.MaxPrune = PruneBudget{Percent: 100} })
		r.waitConverged()
		r.apply(&spec.Snapshot{Dir: "specs"})
		r.waitConverged()
		if cs := r.containers(); len(cs) != 0 {
			t.Errorf("left %v", cs)
		}
	})
}

func TestEngineNotForThisHostIsRemoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		specs := threeSpecs()
		r := start(t, openSim(t, ""), snapshot(specs...))
		r.waitConverged()
		moved := *specs[0]
		moved.Spec.Hosts = []string{"DB-*"}
		r.apply(snapshot(&moved, specs[1], specs[2]))
		r.waitConverged()
		if _, ok := r.containers()["a"]; ok {
			t.Error("a still on this host")
		}
		r.rec.mu.Lock()
		defer r.rec.mu.Unlock()
		if r.rec.rejected[ReasonNotForThisHost] != 1 {
			t.Errorf("rejections %v", r.rec.rejected)
		}
	})
}
