package reconcile

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/isoagent/isoagent/spec"
)

// steps counts the driver steps actions take, as the engine's observer
// reports them: a create includes its start, and a recreate of a running
// container is a stop, a remove, a create and a start.
func steps(acts []Action) string {
	n := map[ActionKind]int{}
	for _, a := range acts {
		switch a.Kind {
		case ActionCreate:
			n[ActionCreate]++
			n[ActionStart]++
		case ActionRecreate:
			n[ActionStop]++
			n[ActionRemove]++
			n[ActionCreate]++
			n[ActionStart]++
		default:
			n[a.Kind]++
		}
	}
	return fmt.Sprintf("create=%d start=%d stop=%d remove=%d", n[ActionCreate], n[ActionStart], n[ActionStop], n[ActionRemove])
}

// TestPlanRunIsWhatARunDoes plans a folder against a host that runs the
// containers of an earlier folder, then has a new engine apply the same
// folder: it takes exactly the steps the plan listed, and reports the
// same conditions. The empty folder and the folder with a file whose names
// are unknown are the rules both share.
func TestPlanRunIsWhatARunDoes(t *testing.T) {
	invalid := func(snap *spec.Snapshot) *spec.Snapshot {
		snap.Files = append(snap.Files, spec.File{Path: "broken.yaml", Err: errors.New("broken.yaml:1:1: not YAML")})
		return snap
	}
	tests := []struct {
		name       string
		snap       *spec.Snapshot
		allowEmpty bool
		wantSteps  string
		wantCond   ConditionType
		maxPrune   PruneBudget
	}{
		{"unchanged", snapshot(threeSpecs()...), false, "create=0 start=0 stop=0 remove=0", "", PruneBudget{}},
		{"one added, one changed, one gone", snapshot(ctr("a", img2022), ctr("b", img2022, func(s *spec.Spec) { s.Env = map[string]string{"A": "b"} }), ctr("d", img2022)), false, "create=2 start=2 stop=2 remove=2", "", PruneBudget{}},
		{"empty folder", snapshot(), false, "create=0 start=0 stop=0 remove=0", CondEmptyIgnored, PruneBudget{}},
		{"empty folder allowed", snapshot(), true, "create=0 start=0 stop=3 remove=3", "", PruneBudget{Percent: 100}},
		{"empty folder allowed, over the prune budget", snapshot(), true, "create=0 start=0 stop=0 remove=0", CondPruneHeld, PruneBudget{}},
		{"one gone, within the budget", snapshot(ctr("a", img2022), ctr("b", img2022)), false, "create=0 start=0 stop=1 remove=1", "", PruneBudget{}},
		{"a file whose names are unknown", invalid(snapshot(ctr("a", img2022))), false, "create=0 start=0 stop=0 remove=0", CondPruneSuspended, PruneBudget{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				drv := openSim(t, "")
				first := start(t, drv, snapshot(threeSpecs()...))
				first.waitConverged()
				first.stop()

				plan, err := PlanRun(t.Context(), drv, tt.snap, nil, RunPlanOptions{Admit: AdmitOptions{Owner: "isoagent"}, AllowEmpty: tt.allowEmpty, MaxPrune: tt.maxPrune})
				if err != nil {
					t.Fatal(err)
				}
				if got := steps(plan.Actions); got != tt.wantSteps {
					t.Errorf("plan: %s (%v), want %s", got, plan.Actions, tt.wantSteps)
				}
				if tt.wantCond == "" && len(plan.Conditions) != 0 || tt.wantCond != "" && !hasCondition(plan.Conditions, tt.wantCond) {
					t.Errorf("plan's conditions %v, want %q", plan.Conditions, tt.wantCond)
				}

				r := start(t, drv, tt.snap, func(o *EngineOptions) { o.AllowEmpty = tt.allowEmpty; o.MaxPrune = tt.maxPrune })
				r.waitConverged()
				if got := r.rec.counts(); got != steps(plan.Actions) {
					t.Errorf("the run took %s, the plan said %s", got, steps(plan.Actions))
				}
				if st := r.eng.Status(); tt.wantCond != "" && !hasCondition(st.Conditions, tt.wantCond) {
					t.Errorf("the run's conditions %v, want %q as the plan's", st.Conditions, tt.wantCond)
				}
			})
		})
	}
}

// A folder that cannot be read plans nothing, and says why as the
// engine's status does.
func TestPlanRunOfAFolderThatCannotBeRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		first := start(t, drv, snapshot(threeSpecs()...))
		first.waitConverged()
		first.stop()
		loadErr := errors.New("spec folder: stat specs: no such file or directory")
		plan, err := PlanRun(t.Context(), drv, nil, loadErr, RunPlanOptions{Admit: AdmitOptions{Owner: "isoagent"}, AllowEmpty: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Actions) != 0 || len(plan.Conditions) != 1 {
			t.Fatalf("plan %+v, want no actions and LoadFailed", plan)
		}
		r := start(t, drv, nil)
		r.eng.SetLoadError(loadErr)
		synctest.Wait() // the engine has described the host
		if got, want := plan.Conditions[0], r.eng.Status().Conditions[0]; got != want {
			t.Errorf("plan says %+v, the engine's status %+v", got, want)
		}
		if plan.Host != "WEB-01 10.0.20348 (server)" {
			t.Errorf("host %q", plan.Host)
		}
	})
}

// TestPlanRunNewRefusals pins which refusals a plan counts as changes: a
// spec that runs and would be refused now (its container is kept as it
// is, not as declared), not one refused with nothing of it on the host,
// nor one meant for other hosts.
func TestPlanRunNewRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		first := start(t, drv, snapshot(threeSpecs()...))
		first.waitConverged()
		first.stop()

		specs := threeSpecs()
		// a runs and is refused now; old never ran; gpu is for other hosts.
		specs[0] = ctr("a", img2019, isolation(spec.IsolationProcess))
		specs = append(specs, ctr("old", img2019, isolation(spec.IsolationProcess)), ctr("gpu", img2022, func(s *spec.Spec) { s.Hosts = []string{"GPU-*"} }))
		plan, err := PlanRun(t.Context(), drv, snapshot(specs...), nil, RunPlanOptions{Admit: AdmitOptions{Owner: "isoagent"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Actions) != 0 || len(plan.Rejections) != 3 {
			t.Fatalf("plan %+v, want no actions and three rejections", plan)
		}
		got := plan.NewRefusals()
		if len(got) != 1 || got[0].Name != "a" || got[0].Reason != ReasonVersionMismatch || !got[0].KeptRunning {
			t.Errorf("new refusals %+v, want a alone (version-mismatch, kept running)", got)
		}
	})
}
