package reconcile

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

func admitted(t *testing.T, specs ...*spec.Container) []Decision {
	t.Helper()
	return Admit(context.Background(), server(20348), nil, specs, AdmitOptions{Owner: "isoagent"})
}

func running(d Decision) driver.Container {
	return driver.Container{ID: d.Config.ID, Name: d.Name(), Owner: "isoagent", Hash: d.Config.Hash, State: driver.StateRunning}
}

func kinds(acts []Action) string {
	var s []string
	for _, a := range acts {
		s = append(s, fmt.Sprintf("%s %s", a.Kind, a.Name))
	}
	return strings.Join(s, ", ")
}

func TestPlan(t *testing.T) {
	web := ctr("web", img2022)
	ds := admitted(t, web)
	cur := running(ds[0])
	exited := func(code int) driver.Container { c := cur; c.State, c.ExitCode = driver.StateExited, code; return c }
	old := driver.Container{ID: "web-000000000000", Name: "web", Owner: "isoagent", Hash: "0000", State: driver.StateRunning}
	withPolicy := func(p spec.RestartPolicy) []Decision {
		c := *web
		c.Spec.RestartPolicy = p
		return admitted(t, &c)
	}
	notHere := admitted(t, ctr("web", img2022, func(s *spec.Spec) { s.Hosts = []string{"ELSEWHERE"} }))
	mismatch := admitted(t, ctr("web", img2019))
	tests := []struct {
		name    string
		desired []Decision
		actual  []driver.Container
		prune   bool
		want    string
	}{
		{"nothing to do", ds, []driver.Container{cur}, true, ""},
		{"create a missing container", ds, nil, true, "create web"},
		{"start a created container", ds, []driver.Container{{ID: cur.ID, Name: "web", Owner: "isoagent", Hash: cur.Hash, State: driver.StateCreated}}, true, "start web"},
		{"recreate on a changed config", ds, []driver.Container{old}, true, "recreate web"},
		{"remove a superseded duplicate", ds, []driver.Container{cur, old}, true, "stop web, remove web"},
		{"always restarts after exit 0", withPolicy(spec.RestartAlways), []driver.Container{exited(0)}, true, "start web"},
		{"on-failure restarts after a failure", withPolicy(spec.RestartOnFailure), []driver.Container{exited(3)}, true, "start web"},
		{"on-failure leaves a clean exit", withPolicy(spec.RestartOnFailure), []driver.Container{exited(0)}, true, ""},
		{"never leaves it exited", withPolicy(spec.RestartNever), []driver.Container{exited(1)}, true, ""},
		{"prune a container whose spec is gone", nil, []driver.Container{cur}, true, "stop web, remove web"},
		{"prune an exited one without stopping", nil, []driver.Container{exited(0)}, true, "remove web"},
		{"no prune when pruning is off", nil, []driver.Container{cur}, false, ""},
		{"remove when not for this host", notHere, []driver.Container{cur}, false, "stop web, remove web"},
		{"a rejected spec leaves its container", mismatch, []driver.Container{cur}, true, ""},
		{"other owners are never touched", nil, []driver.Container{{ID: "x", Name: "web", Owner: "docker", State: driver.StateRunning}}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := kinds(Plan(tt.desired, tt.actual, PlanOptions{Owner: "isoagent", Prune: tt.prune}))
			if got != tt.want {
				t.Errorf("Plan = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlanRecreateNamesBothContainers(t *testing.T) {
	ds := admitted(t, ctr("web", img2022))
	old := driver.Container{ID: "web-000000000000", Name: "web", Owner: "isoagent", Hash: "0000", State: driver.StateRunning}
	acts := Plan(ds, []driver.Container{old}, PlanOptions{Owner: "isoagent", Prune: true})
	if len(acts) != 1 || acts[0].Old != old.ID || acts[0].ID != ds[0].Config.ID || acts[0].Config == nil {
		t.Fatalf("Plan = %+v", acts)
	}
}
