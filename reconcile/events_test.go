package reconcile

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
)

// An exit the driver reports is in the status within a second, not at
// the next resync, and a restart policy acts on it then.
func TestEngineActsOnExitsAsTheyHappen(t *testing.T) {
	tests := []struct {
		name      string
		policy    spec.RestartPolicy
		restarted bool
	}{
		{"never", spec.RestartNever, false},
		{"always", spec.RestartAlways, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// ping -n 5 exits by itself after 5 s.
				c := ctr("pinger", img2022, func(s *spec.Spec) {
					s.Command = []string{"ping", "-n", "5", "localhost"}
					s.RestartPolicy = tt.policy
				})
				r := start(t, openSim(t, ""), snapshot(c), func(o *EngineOptions) { o.Resync = time.Hour })
				r.settle(2 * time.Second)
				if st := r.status("pinger"); st.State != StateRunning {
					t.Fatalf("status after 2 s: %+v, want running", st)
				}
				r.settle(4 * time.Second) // 1 s after the exit
				st := r.status("pinger")
				switch {
				case tt.restarted && st.RestartCount == 0 && st.State != StateExited:
					t.Errorf("1 s after the exit: %+v, want exited (waiting to restart) or restarted", st)
				case !tt.restarted && (st.State != StateExited || st.ExitCode == nil || *st.ExitCode != 0):
					t.Errorf("1 s after the exit: %+v, want exited with 0", st)
				}
				if !tt.restarted {
					if !r.eng.Converged() {
						t.Error("not converged 1 s after an exit restart: never leaves alone")
					}
					return
				}
				r.settle(time.Minute)
				if st := r.status("pinger"); st.RestartCount == 0 {
					t.Errorf("a minute after the exit: %+v, want restarted (the resync is an hour away)", st)
				}
			})
		})
	}
}

// Status keeps each container's last exit, with why it ended: by itself
// (its code) or stopped by the agent (a change of its spec).
func TestEngineStatusShowsTheLastExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		job := ctr("job", img2022, func(s *spec.Spec) {
			s.Command = []string{"cmd", "/c", "exit", "3"}
			s.RestartPolicy = spec.RestartNever
		})
		web := ctr("web", img2022)
		r := start(t, openSim(t, ""), snapshot(job, web))
		r.settle(5 * time.Second)
		if x := r.status("job").LastExit; x == nil || x.Code != 3 || x.Reason != ExitFailed || x.At.IsZero() {
			t.Errorf("last exit of job = %+v, want failed with 3", x)
		}
		if x := r.status("web").LastExit; x != nil {
			t.Errorf("last exit of web, which runs = %+v, want none", x)
		}
		first := r.status("web").ContainerID
		changed := ctr("web", img2022, func(s *spec.Spec) { s.Env = map[string]string{"MODE": "new"} })
		r.apply(snapshot(job, changed))
		r.settle(time.Minute)
		st := r.status("web")
		if st.State != StateRunning || st.ContainerID == first {
			t.Fatalf("web after its change: %+v, want a new container running", st)
		}
		if x := st.LastExit; x == nil || x.Reason != ExitStopped || x.ContainerID != first {
			t.Errorf("last exit of web after its change = %+v, want %s stopped", x, first)
		}
	})
}

// An administrator's restart stops the container with its grace and starts
// it again now; a name without a running container is refused.
func TestEngineRestartsOnRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		job := ctr("job", img2022, func(s *spec.Spec) {
			s.Command = []string{"cmd", "/c", "exit", "0"}
			s.RestartPolicy = spec.RestartNever
		})
		r := start(t, openSim(t, ""), snapshot(ctr("web", img2022), job))
		r.settle(5 * time.Second)
		before := r.containers()["web"]
		time.Sleep(time.Second)
		if err := r.eng.Restart(t.Context(), "web", "test"); err != nil {
			t.Fatalf("Restart = %v", err)
		}
		after := r.containers()["web"]
		if after.ID != before.ID || after.State != driver.StateRunning || !after.StartedAt.After(before.StartedAt) {
			t.Errorf("after Restart: %+v, want %s running again, started after %s", after, before.ID, before.StartedAt)
		}
		r.settle(time.Second)
		if x := r.status("web").LastExit; x == nil || x.Reason != ExitStopped {
			t.Errorf("last exit after Restart = %+v, want stopped", x)
		}
		for _, name := range []string{"job", "nope"} {
			if err := r.eng.Restart(t.Context(), name, "test"); !errors.Is(err, ErrNotRunning) {
				t.Errorf("Restart of %s = %v, want ErrNotRunning", name, err)
			}
		}
	})
}

// A container that ends as soon as it starts is seen exited within a
// second, and a running one's init PID is known, with relists an hour
// apart: the look at the container just started tells (driver.Inspector),
// with the driver's exit reports or without them. A driver that can do
// neither is relisted after each start instead.
func TestEngineLearnsOfAStartWithoutARelist(t *testing.T) {
	tests := []struct {
		name string
		wrap func(*sim.Driver) driver.Driver
	}{
		{"watch and inspect", func(d *sim.Driver) driver.Driver { return d }},
		{"inspect only", func(d *sim.Driver) driver.Driver {
			return struct {
				driver.Driver
				driver.Inspector
			}{d, d}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				once := ctr("once", img2022, func(s *spec.Spec) {
					s.Command = []string{"cmd", "/c", "exit", "3"}
					s.RestartPolicy = spec.RestartNever
				})
				drv := openSim(t, "")
				r := start(t, drv, snapshot(once, ctr("web", img2022)), func(o *EngineOptions) {
					o.Driver = tt.wrap(drv)
					o.RelistInterval, o.Resync = time.Hour, time.Hour
				})
				r.settle(time.Second)
				if st := r.status("once"); st.State != StateExited || st.ExitCode == nil || *st.ExitCode != 3 {
					t.Errorf("once 1 s after its start: %s, exit code %v; want exited with 3", st.State, st.ExitCode)
				}
				if st := r.status("web"); st.State != StateRunning || st.InitPID == 0 {
					t.Errorf("web 1 s after its start: %s, init PID %d; want running with the driver's PID", st.State, st.InitPID)
				}
				if !r.eng.Converged() {
					t.Error("not converged 1 s after the start: once never restarts, web runs")
				}
			})
		})
	}
}

// An exit report the cache can place is taken without a relist of the
// whole host, the agent's own stop included, whose report comes after the
// stop's note; one it cannot place asks for a relist and changes nothing.
func TestEngineTakesExitReportsItCanPlace(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	running := driver.Container{ID: "w-1", Name: "w", Owner: sim.DefaultOwner, Hash: "h", State: driver.StateRunning, StartedAt: at(10)}
	stopped := running
	stopped.State, stopped.FinishedAt = driver.StateExited, at(21) // the agent's note, after its Stop returned
	report := func(started, finished, code int) driver.Container {
		c := running
		c.State, c.StartedAt, c.FinishedAt, c.ExitCode = driver.StateExited, at(started), at(finished), code
		return c
	}
	tests := []struct {
		name   string
		cached []driver.Container
		report driver.Container
		want   driver.Container // zero: the cache as it was
		relist bool
	}{
		{"the run the cache has running", []driver.Container{running}, report(10, 20, 3), report(10, 20, 3), false},
		{"the agent's stop, noted before the report", []driver.Container{stopped}, report(10, 20, 1067), report(10, 20, 1067), false},
		{"a run that ended before the cached one began", []driver.Container{running}, report(1, 5, 3), driver.Container{}, true},
		{"an ended run before the cached ended one", []driver.Container{stopped}, report(1, 5, 3), driver.Container{}, true},
		{"a run newer than the cached ended one", []driver.Container{stopped}, report(30, 40, 3), driver.Container{}, true},
		{"a container the cache does not have", nil, report(10, 20, 3), driver.Container{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine(EngineOptions{Driver: openSim(t, ""), Owner: sim.DefaultOwner})
			if tt.cached != nil {
				e.cache.Write(e.cache.Begin(), "w", replaceWith(tt.cached))
			}
			e.exited(tt.report)
			relisted := len(e.relistC) > 0
			if relisted != tt.relist {
				t.Errorf("relist asked for: %v, want %v", relisted, tt.relist)
			}
			got := e.cache.Get("w")
			want := tt.cached
			if tt.want.ID != "" {
				want = []driver.Container{tt.want}
			}
			if !sameContainers(got, want) {
				t.Errorf("cache after the report: %+v, want %+v", got, want)
			}
		})
	}
}

// An exit report the cache cannot place is checked with a look at that
// one container when the driver can (driver.Inspector), not with a relist
// of the whole host: the cache takes what the driver has, or nothing for a
// container gone (one the agent removed a moment before the report).
func TestEngineInspectsAnExitReportItCannotPlace(t *testing.T) {
	drv := openSim(t, "")
	ctx := t.Context()
	cfg := driver.Config{ID: "w-2", Name: "w", Owner: sim.DefaultOwner, Hash: "h", Isolation: driver.Process, Image: imageref.MustParse(img2022)}
	if err := drv.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := drv.Start(ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	if err := drv.Stop(ctx, cfg.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	there, err := drv.Inspect(ctx, cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	gone := there
	gone.ID = "w-1"
	tests := []struct {
		name   string
		report driver.Container
		want   []driver.Container
	}{
		{"a container the driver has", there, []driver.Container{there}},
		{"a container gone", gone, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine(EngineOptions{Driver: drv, Owner: sim.DefaultOwner})
			e.inspectReported(ctx, drv, tt.report)
			if len(e.relistC) > 0 {
				t.Error("a relist was asked for")
			}
			if got := e.cache.Get("w"); !sameContainers(got, tt.want) {
				t.Errorf("cache after the report: %+v, want %+v", got, tt.want)
			}
		})
	}
}
