package reconcile

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/isoagent/isoagent/spec"
)

func specsNamed(names ...string) []*spec.Container {
	var out []*spec.Container
	for _, n := range names {
		out = append(out, ctr(n, img2022))
	}
	return out
}

func TestEnginePruneBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		all := specsNamed("a", "b", "c", "d")
		r := start(t, openSim(t, ""), snapshot(all...))
		r.waitConverged()
		if got := r.eng.Status().PruneBudget; got != 2 {
			t.Fatalf("budget %d, want 2 (50%% of 4)", got)
		}

		// Three of four specs deleted: over the budget of 2, nothing goes.
		r.rec.reset()
		r.apply(snapshot(all[0]))
		r.waitConverged()
		r.settle(2 * testResync)
		if got := r.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
			t.Fatalf("actions %s, want none while the prune is held", got)
		}
		r.requireRunning("a", "b", "c", "d")
		st := r.eng.Status()
		p := st.PendingPrune
		if p == nil || !slices.Equal(p.Names, []string{"b", "c", "d"}) || p.Budget != 2 || p.Owned != 4 {
			t.Fatalf("pending prune %+v", p)
		}
		if !hasCondition(st.Conditions, CondPruneHeld) {
			t.Fatalf("conditions %v, want PruneHeld", st.Conditions)
		}
		if s := r.status("b"); s.State != StateOrphaned || !hasCondition(s.Conditions, CondPruneHeld) {
			t.Fatalf("b: %s %v, want orphaned and held", s.State, s.Conditions)
		}

		// A confirmation names the set it confirms.
		if _, err := r.eng.ConfirmPrune("0000"); !errors.Is(err, ErrPruneChanged) {
			t.Fatalf("ConfirmPrune(wrong id) = %v, want ErrPruneChanged", err)
		}
		if _, err := r.eng.ConfirmPrune(p.ID); err != nil {
			t.Fatal(err)
		}
		r.waitConverged()
		if got := r.rec.counts(); got != "create=0 start=0 stop=3 remove=3" {
			t.Fatalf("actions %s after the confirmation, want b, c and d pruned", got)
		}
		if cs := r.containers(); len(cs) != 1 {
			t.Fatalf("left %v, want a alone", cs)
		}
		st = r.eng.Status()
		if st.PendingPrune != nil || hasCondition(st.Conditions, CondPruneHeld) {
			t.Fatalf("still held: %+v %v", st.PendingPrune, st.Conditions)
		}
		if _, err := r.eng.ConfirmPrune(p.ID); !errors.Is(err, ErrNoPendingPrune) {
			t.Fatalf("a second ConfirmPrune = %v, want ErrNoPendingPrune", err)
		}
	})
}

func TestEnginePruneBudgetAChangeThatFits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		all := specsNamed("a", "b", "c", "d")
		r := start(t, openSim(t, ""), snapshot(all...))
		r.waitConverged()
		r.rec.reset()
		r.apply(snapshot(all[0]))
		r.waitConverged()
		if r.eng.PendingPrune() == nil {
			t.Fatal("no prune held")
		}
		// Two of the specs come back: one to prune fits the budget.
		r.apply(snapshot(all[0], all[1], all[2]))
		r.waitConverged()
		if got := r.rec.counts(); got != "create=0 start=0 stop=1 remove=1" {
			t.Fatalf("actions %s, want d pruned", got)
		}
		if r.eng.PendingPrune() != nil {
			t.Fatal("the prune is still held")
		}
	})
}

func TestEngineKeepsAnnotatedContainers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := ctr("db", img2022)
		db.Metadata.Annotations = map[string]string{spec.AnnotationPrune: "false"}
		web := ctr("web", img2022)
		r := start(t, openSim(t, ""), snapshot(db, web), func(o *EngineOptions) { o.MaxPrune = PruneBudget{Percent: 100} })
		r.waitConverged()
		if !r.containers()["db"].KeepOnPrune {
			t.Fatal("the driver does not list db's mark")
		}
		r.rec.reset()
		r.apply(snapshot(web))
		r.waitConverged()
		r.settle(2 * testResync)
		if got := r.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
			t.Fatalf("actions %s, want db kept", got)
		}
		r.requireRunning("db", "web")
		if s := r.status("db"); s.State != StateOrphanedKept {
			t.Fatalf("db is %s, want %s", s.State, StateOrphanedKept)
		}
		// Brought back without the mark, it is recreated once (the mark is
		// part of the config), and pruned when deleted again.
		r.apply(snapshot(ctr("db", img2022), web))
		r.waitConverged()
		r.apply(snapshot(web))
		r.waitConverged()
		if _, ok := r.containers()["db"]; ok {
			t.Fatal("db kept without its mark")
		}
	})
}

func TestEngineHoldsPruneOnAnotherFolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		first := start(t, openSim(t, dir), snapshot(specsNamed("a", "b", "c", "d")...))
		first.waitConverged()
		first.stop()

		released := 0
		hold := func(o *EngineOptions) {
			o.HoldPrune = "the spec folder is /srv/new, not /srv/old as last time"
			o.OnPruneReleased = func() { released++ }
		}
		// One to prune fits the budget, but the folder changed.
		second := start(t, openSim(t, dir), snapshot(specsNamed("a", "b", "c")...), hold)
		second.waitConverged()
		second.settle(2 * testResync)
		p := second.eng.PendingPrune()
		if p == nil || !strings.Contains(p.Reason, "/srv/old") || len(second.containers()) != 4 || released != 0 {
			t.Fatalf("pending %+v, %d containers, released %d: want d held", p, len(second.containers()), released)
		}
		if _, err := second.eng.ConfirmPrune(p.ID); err != nil {
			t.Fatal(err)
		}
		second.waitConverged()
		if len(second.containers()) != 3 || released != 1 {
			t.Fatalf("%d containers, released %d; want d pruned and the hold released once", len(second.containers()), released)
		}
		second.stop()

		// With nothing to prune on the new folder the hold ends at once.
		third := start(t, openSim(t, dir), snapshot(specsNamed("a", "b", "c")...), hold)
		third.waitConverged()
		if third.eng.PendingPrune() != nil || released != 2 {
			t.Fatalf("pending %+v, released %d", third.eng.PendingPrune(), released)
		}
	})
}

func TestEngineEmptyFolderUnderTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, openSim(t, ""), snapshot(threeSpecs()...), func(o *EngineOptions) { o.AllowEmpty = true })
		r.waitConverged()
		r.apply(&spec.Snapshot{Dir: "specs"})
		r.waitConverged()
		if len(r.containers()) != 3 || r.eng.PendingPrune() == nil {
			t.Fatal("an empty folder pruned everything over the budget")
		}
	})
}

func TestParsePruneBudget(t *testing.T) {
	tests := []struct {
		in      string
		owned   int
		allowed int
		bad     bool
	}{
		{"50%", 10, 5, false},
		{"50%", 1, 1, false},
		{"10%", 5, 1, false},
		{"100%", 7, 7, false},
		{"3", 100, 3, false},
		{"0", 0, 0, true},
		{"150%", 0, 0, true},
		{"half", 0, 0, true},
	}
	for _, tt := range tests {
		b, err := ParsePruneBudget(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParsePruneBudget(%q) accepted it", tt.in)
			}
			continue
		}
		if err != nil || b.Allowed(tt.owned) != tt.allowed || b.String() != tt.in {
			t.Errorf("ParsePruneBudget(%q) = %v (%v); allows %d of %d, want %d", tt.in, b, err, b.Allowed(tt.owned), tt.owned, tt.allowed)
		}
	}
	if (PruneBudget{}).Allowed(9) != 4 {
		t.Error("the zero budget is not 50%")
	}
}
