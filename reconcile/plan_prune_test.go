package reconcile

import (
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
)

// Plan shows what run would do, budget and marks included.
func TestPlanPruneBudget(t *testing.T) {
	ds := admitted(t, specsNamed("a", "b", "c", "d")...)
	var actual []driver.Container
	for _, d := range ds {
		actual = append(actual, running(d))
	}
	kept := running(ds[3])
	kept.KeepOnPrune = true
	tests := []struct {
		name    string
		desired []Decision
		actual  []driver.Container
		budget  PruneBudget
		want    string // kinds of the actions
		held    string // names of the held prune
	}{
		{"within the budget", ds[:3], actual, PruneBudget{}, "stop d, remove d", ""},
		{"over the budget", ds[:1], actual, PruneBudget{}, "", "b,c,d"},
		{"over a count", ds[:2], actual, PruneBudget{Count: 1}, "", "c,d"},
		{"all allowed", ds[:1], actual, PruneBudget{Percent: 100}, "stop b, remove b, stop c, remove c, stop d, remove d", ""},
		{"a marked container is not counted", ds[:2], append(append([]driver.Container{}, actual[:3]...), kept), PruneBudget{}, "stop c, remove c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := PlanOptions{Owner: "isoagent", Prune: true, MaxPrune: tt.budget}
			if got := kinds(Plan(tt.desired, tt.actual, opts)); got != tt.want {
				t.Errorf("Plan = %q, want %q", got, tt.want)
			}
			p := HeldPrune(tt.desired, tt.actual, opts)
			switch {
			case tt.held == "" && p != nil:
				t.Errorf("HeldPrune = %+v, want none", p)
			case tt.held != "" && (p == nil || strings.Join(p.Names, ",") != tt.held):
				t.Errorf("HeldPrune = %+v, want %s", p, tt.held)
			}
		})
	}
}
