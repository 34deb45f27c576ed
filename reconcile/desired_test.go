package reconcile

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
)

func TestNextDesired(t *testing.T) {
	a, b := ctr("a", img2022), ctr("b", img2022)
	withPolicy := func(c *spec.Container, p spec.RestartPolicy) *spec.Container {
		cp := *c
		cp.Spec.RestartPolicy = p
		return &cp
	}
	withImage := func(c *spec.Container, image string) *spec.Container {
		cp := *c
		cp.Spec.Image = imageref.MustParse(image)
		return &cp
	}
	desired := func(prune bool, specs ...*spec.Container) *desiredState {
		s := &desiredState{snap: snapshot(specs...), decisions: map[string]*Decision{}, prune: prune}
		ds := admitted(t, specs...)
		for i := range ds {
			s.decisions[ds[i].Name()] = &ds[i]
		}
		return s
	}
	unknownFile := func(s *spec.Snapshot) *spec.Snapshot {
		s.Files = append(s.Files, spec.File{Path: "x.yaml", Err: errors.New("x.yaml:1:1: bad")})
		return s
	}
	tests := []struct {
		name       string
		prev       *desiredState
		snap       *spec.Snapshot
		allowEmpty bool
		changed    []string // sorted
		rejected   []string
		prune      bool
		cond       ConditionType
		names      []string // with a decision after
	}{
		{"the first admission changes every name and the cached ones",
			nil, snapshot(a, b), false, []string{"a", "b", "orphan"}, nil, true, "", []string{"a", "b"}},
		{"the same specs change nothing",
			desired(true, a, b), snapshot(a, b), false, nil, nil, true, "", []string{"a", "b"}},
		{"a restart policy is part of the desired state",
			desired(true, a, b), snapshot(withPolicy(a, spec.RestartNever), b), false, []string{"a"}, nil, true, "", []string{"a", "b"}},
		{"a spec gone changes its name",
			desired(true, a, b), snapshot(a), false, []string{"b"}, nil, true, "", []string{"a"}},
		{"a newly rejected spec is reported once",
			desired(true, a, b), snapshot(withImage(a, img2019), b), false, []string{"a"}, []string{"a"}, true, "", []string{"a", "b"}},
		{"a rejection that stays is not reported again",
			desired(true, withImage(a, img2019), b), snapshot(withImage(a, img2019), b), false, nil, nil, true, "", []string{"a", "b"}},
		{"an empty folder keeps the desired state and prunes nothing",
			desired(true, a, b), &spec.Snapshot{Dir: "specs"}, false, nil, nil, false, CondEmptyIgnored, []string{"a", "b"}},
		{"an empty folder with allowEmpty prunes everything",
			desired(true, a, b), &spec.Snapshot{Dir: "specs"}, true, []string{"a", "b"}, nil, true, "", nil},
		{"a file whose names are unknown stops pruning: every cached name changes",
			desired(true, a, b), unknownFile(snapshot(a, b)), false, []string{"orphan"}, nil, false, CondPruneSuspended, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := false
			cached := func() []string { asked = true; return []string{"orphan"} }
			ds := Admit(t.Context(), server(20348), nil, tt.snap.Specs, AdmitOptions{Owner: "isoagent"})
			ch := nextDesired(tt.prev, tt.snap, ds, tt.allowEmpty, cached)
			slices.Sort(ch.changed)
			if !slices.Equal(ch.changed, tt.changed) {
				t.Errorf("changed %v, want %v", ch.changed, tt.changed)
			}
			var rejected []string
			for _, d := range ch.rejected {
				rejected = append(rejected, d.Name())
			}
			if !slices.Equal(rejected, tt.rejected) {
				t.Errorf("rejected %v, want %v", rejected, tt.rejected)
			}
			if ch.next.prune != tt.prune || ch.cond.Type != tt.cond || ch.next.snap != tt.snap {
				t.Errorf("prune %v, condition %q, snapshot in force %p; want %v, %q, %p", ch.next.prune, ch.cond.Type, ch.next.snap, tt.prune, tt.cond, tt.snap)
			}
			if got := allKeys(ch.next, nil); !slices.Equal(got, tt.names) && !(len(got) == 0 && len(tt.names) == 0) {
				t.Errorf("decisions for %v, want %v", got, tt.names)
			}
			if asked != slices.Contains(tt.changed, "orphan") {
				t.Errorf("the cached names were asked for: %v; want only when pruning turns on or off", asked)
			}
		})
	}
}

// The second look that a resync takes at the snapshot in force is the
// same snapshot again: it changes nothing, so it cannot unsettle what has
// converged.
func TestNextDesiredAgainChangesNothing(t *testing.T) {
	snap := snapshot(ctr("a", img2022), ctr("b", img2022))
	snap.LoadedAt = time.Now()
	first := nextDesired(nil, snap, admitted(t, snap.Specs...), false, func() []string { return nil })
	again := nextDesired(first.next, snap, admitted(t, snap.Specs...), false, func() []string {
		t.Error("the cached names were asked for")
		return nil
	})
	if len(again.changed) != 0 || len(again.rejected) != 0 {
		t.Errorf("a second look changed %v and rejected %v", again.changed, again.rejected)
	}
}
