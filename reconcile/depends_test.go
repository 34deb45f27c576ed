package reconcile

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/spec"
)

func dependsOn(deps ...spec.Dependency) func(*spec.Spec) {
	return func(s *spec.Spec) { s.DependsOn = append(s.DependsOn, deps...) }
}

func dep(name string, cond spec.DependsCondition) spec.Dependency {
	return spec.Dependency{Name: name, Condition: cond, Source: spec.Source{File: "x.yaml", Line: 7, Column: 22}}
}

// Admission decides over every spec at once: an unknown dependency and a
// cycle (a shared network counted as one) reject, at the dependency.
func TestAdmitOrdersDependencies(t *testing.T) {
	proc := isolation(spec.IsolationProcess)
	tests := []struct {
		name  string
		specs []*spec.Container
		want  map[string]string // name -> field: message part; absent = admitted
	}{
		{"a chain", []*spec.Container{
			ctr("app", img2022, dependsOn(dep("db", spec.DependsStarted), dep("migrate", spec.DependsCompleted))),
			ctr("db", img2022), ctr("migrate", img2022, dependsOn(dep("db", spec.DependsStarted))),
		}, nil},
		{"an unknown name", []*spec.Container{ctr("app", img2022, dependsOn(dep("db", ""), dep("cache", ""))), ctr("db", img2022)},
			map[string]string{"app": `spec.dependsOn[1].name: no spec of the folder is named "cache"`}},
		{"a dependency on a rejected spec is not a rejection", []*spec.Container{
			ctr("app", img2022, dependsOn(dep("db", ""))), ctr("db", "mcr.microsoft.com/windows/servercore:ltsc2025", proc),
		}, map[string]string{"db": "spec.image: "}},
		{"a cycle of two", []*spec.Container{
			ctr("a", img2022, dependsOn(dep("b", ""))), ctr("b", img2022, dependsOn(dep("a", spec.DependsCompleted))), ctr("c", img2022, dependsOn(dep("a", ""))),
		}, map[string]string{"a": "spec.dependsOn[0].name: the dependencies form a cycle, a -> b -> a", "b": "spec.dependsOn[0].name: the dependencies form a cycle, b -> a -> b"}},
		{"a cycle through a shared network", []*spec.Container{
			ctr("app", img2022, proc, dependsOn(dep("side", ""))), ctr("side", img2022, proc, func(s *spec.Spec) { s.Network.Mode = "container:app" }),
		}, map[string]string{"app": "spec.dependsOn[0].name: the dependencies form a cycle, app -> side -> app", "side": "spec.network.mode: the dependencies form a cycle, side -> app -> side"}},
		{"a network sharer of a spec on a cycle", []*spec.Container{
			ctr("a", img2022, proc, dependsOn(dep("b", ""))), ctr("b", img2022, dependsOn(dep("a", ""))), ctr("side", img2022, proc, func(s *spec.Spec) { s.Network.Mode = "container:a" }),
		}, map[string]string{"a": "spec.dependsOn[0].name: the dependencies form a cycle", "b": "spec.dependsOn[0].name: the dependencies form a cycle", "side": "spec.network.mode: cannot share the network of a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := Admit(context.Background(), server(20348), nil, tt.specs, AdmitOptions{})
			for _, d := range ds {
				want, rejected := tt.want[d.Name()]
				switch {
				case !rejected && !d.Admitted():
					t.Errorf("%s rejected: %v", d.Name(), d.Rejection)
				case rejected && d.Admitted():
					t.Errorf("%s admitted, want rejected: %s", d.Name(), want)
				case rejected && !strings.HasPrefix(d.Rejection.Field+": "+d.Rejection.Message, want):
					t.Errorf("%s: %s: %s, want %s", d.Name(), d.Rejection.Field, d.Rejection.Message, want)
				case rejected && strings.HasPrefix(d.Rejection.Field, "spec.dependsOn") && d.Rejection.At.Line != 7:
					t.Errorf("%s: rejection at %+v, want the dependency's place", d.Name(), d.Rejection.At)
				}
			}
		})
	}
}

// waitingFor follows the dependency's container through its states, for
// each condition.
func TestWaitingFor(t *testing.T) {
	specs := []*spec.Container{ctr("db", img2022), ctr("app", img2022, dependsOn(dep("db", spec.DependsStarted))),
		ctr("job", img2022, dependsOn(dep("db", spec.DependsCompleted)))}
	ds := Admit(context.Background(), server(20348), nil, specs, AdmitOptions{})
	state := &desiredState{decisions: map[string]*Decision{}}
	for i := range ds {
		state.decisions[ds[i].Name()] = &ds[i]
	}
	db := state.decisions["db"].Config
	tests := []struct {
		name     string
		db       []driver.Container
		app, job string // "" when it may go on
	}{
		{"no container", nil, "waiting for db to start: it has no container yet", "waiting for db to complete (exit with code 0): it has no container yet"},
		{"an old container", []driver.Container{{ID: "db-old", Hash: "old", State: driver.StateRunning}}, "it has no container yet", "it has no container yet"},
		{"created", []driver.Container{{ID: db.ID, Hash: db.Hash, State: driver.StateCreated}}, "waiting for db to start: it is created", "it is created"},
		{"running", []driver.Container{{ID: db.ID, Hash: db.Hash, State: driver.StateRunning}}, "", "it is running"},
		{"failed", []driver.Container{{ID: db.ID, Hash: db.Hash, State: driver.StateExited, ExitCode: 3}}, "", "it exited with code 3"},
		{"completed", []driver.Container{{ID: db.ID, Hash: db.Hash, State: driver.StateExited}}, "", ""},
	}
	for _, tt := range tests {
		get := func(n string) []driver.Container {
			if n == "db" {
				return tt.db
			}
			return nil
		}
		for _, c := range []struct{ name, want string }{{"app", tt.app}, {"job", tt.job}} {
			got := waitingFor(state, get, nil, state.decisions[c.name])
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("%s: %s waits for %q, want %q", tt.name, c.name, got, c.want)
			}
		}
	}
}

// A container is created only once its dependency has started, however
// slowly that starts, and shows as waiting meanwhile; a job that must
// complete first holds its dependent back until it exits 0.
func TestEngineCreatesAfterDependencies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := ctr("db", img2022)
		migrate := ctr("migrate", img2022, func(s *spec.Spec) {
			s.Command = []string{"ping", "-n", "40", "127.0.0.1"}
			s.RestartPolicy = spec.RestartNever
		}, dependsOn(dep("db", spec.DependsStarted)))
		app := ctr("app", img2022, dependsOn(dep("db", spec.DependsStarted), dep("migrate", spec.DependsCompleted)))
		drv := openSim(t, "")
		drv.InjectFault(sim.Fault{Op: "start", Count: 1, Delay: 5 * time.Second}) // db's start
		r := start(t, drv, snapshot(app, db, migrate), func(o *EngineOptions) { o.Workers = 3 })
		r.settle(2 * time.Second)
		if cs := r.containers(); len(cs) != 1 || cs["db"].ID == "" {
			t.Fatalf("containers while db starts: %v, want db alone", cs)
		}
		for _, n := range []string{"app", "migrate"} {
			st := r.status(n)
			if st.State != StateWaiting || !hasCondition(st.Conditions, CondWaiting) {
				t.Errorf("%s while db starts: %s %+v, want waiting", n, st.State, st.Conditions)
			}
		}
		if got := r.status("app").Conditions[0].Message; got != "waiting for db to start: it has no container yet" && got != "waiting for db to start: it is created" {
			t.Errorf("app's note = %q", got)
		}
		r.settle(10 * time.Second)
		cs := r.containers()
		if cs["migrate"].State != driver.StateRunning {
			t.Errorf("migrate after db started: %+v, want running", cs["migrate"])
		}
		if _, ok := cs["app"]; ok {
			t.Errorf("app created before migrate completed: %+v", cs["app"])
		}
		if got := r.status("app").Conditions; len(got) != 1 || !strings.Contains(got[0].Message, "waiting for migrate to complete (exit with code 0): it is running") {
			t.Errorf("app's conditions = %+v", got)
		}
		r.waitConverged()
		cs = r.requireRunning("db", "app")
		if m := cs["migrate"]; m.State != driver.StateExited || m.ExitCode != 0 || !cs["app"].CreatedAt.After(m.FinishedAt) && !cs["app"].CreatedAt.Equal(m.FinishedAt) {
			t.Errorf("migrate %+v, app %+v: want app created after migrate completed", m, cs["app"])
		}
		if st := r.status("app"); st.State != StateRunning {
			t.Errorf("app: %s, want running", st.State)
		}
	})
}
