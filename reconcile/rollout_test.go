package reconcile

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
)

// rolloutRecorder is a recorder that is also told of rollouts.
type rolloutRecorder struct {
	*recorder
	mu   sync.Mutex
	done []string // "name order result"
}

func (r *rolloutRecorder) RolloutDone(name string, order spec.UpdateOrder, result RolloutResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, name+" "+string(order)+" "+string(result))
}

func (r *rolloutRecorder) results() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.done)
}

// gate is a readiness the test opens and closes: while closed a running
// container is never ready.
type gate struct{ open atomic.Bool }

func (g *gate) ready(c driver.Container, monitor time.Duration) (bool, bool) {
	ready, failed := runningReady(c, monitor)
	return ready && g.open.Load(), failed
}

// startRollouts is start with the engine's readiness set to g's.
func startRollouts(t *testing.T, drv *sim.Driver, snap *spec.Snapshot, g *gate, edit ...func(*EngineOptions)) (*rig, *rolloutRecorder) {
	t.Helper()
	r := &rig{t: t, drv: drv, rec: newRecorder(), done: make(chan error, 1)}
	obs := &rolloutRecorder{recorder: r.rec}
	opts := EngineOptions{
		Driver: drv, Workers: 2, Resync: testResync, Observer: obs,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, e := range edit {
		e(&opts)
	}
	r.eng = NewEngine(opts)
	if g != nil {
		r.eng.rec.ready = g.ready
	}
	r.eng.Update(snap)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.eng.Run(ctx) }()
	t.Cleanup(r.stop)
	return r, obs
}

// byName returns the owned containers of name, whatever their number.
func (r *rig) byName(name string) []driver.Container {
	r.t.Helper()
	cs, err := r.drv.List(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	var out []driver.Container
	for _, c := range cs {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func env(v string) func(*spec.Spec) { return func(s *spec.Spec) { s.Env = map[string]string{"V": v} } }

func update(order spec.UpdateOrder, timeout time.Duration) func(*spec.Spec) {
	return func(s *spec.Spec) { s.Update = spec.UpdatePolicy{Order: order, Timeout: spec.Duration(timeout)} }
}

func hostPort(s *spec.Spec) {
	s.Ports = []spec.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
}

func states(cs []driver.Container) string {
	var b []string
	for _, c := range cs {
		b = append(b, c.ID+"="+string(c.State))
	}
	return strings.Join(b, " ")
}

func rolloutFailed(cs ContainerStatus) bool {
	return slices.ContainsFunc(cs.Conditions, func(c Condition) bool { return c.Type == CondRolloutFailed })
}

// Start-first: the new container runs next to the old one, which is
// stopped only once the new one is ready; when it never is, the new one
// goes, the old one keeps running, and the change is not tried again.
func TestRolloutStartFirst(t *testing.T) {
	tests := []struct {
		name string
		// ready opens the gate at the rollout's start; exit makes the new
		// container's process exit at once.
		ready, exit bool
		wantResult  RolloutResult
	}{
		{"ready in time", true, false, RolloutSucceeded},
		{"never ready", false, false, RolloutFailed},
		{"exits at once", true, true, RolloutFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &gate{}
				g.open.Store(true)
				v1 := ctr("web", img2022, env("1"), update(spec.UpdateStartFirst, time.Minute))
				r, obs := startRollouts(t, openSim(t, ""), snapshot(v1), g)
				r.waitConverged()
				old := r.byName("web")
				if len(old) != 1 {
					t.Fatalf("before the change: %s", states(old))
				}
				g.open.Store(tt.ready)
				edits := []func(*spec.Spec){env("2"), update(spec.UpdateStartFirst, time.Minute)}
				if tt.exit {
					edits = append(edits, func(s *spec.Spec) { s.Command = []string{"cmd", "/c", "exit", "3"} })
				}
				v2 := ctr("web", img2022, edits...)
				r.apply(snapshot(v2))
				r.settle(2 * time.Second)
				during := r.byName("web")
				if !tt.exit {
					if len(during) != 2 || during[0].State != driver.StateRunning || during[1].State != driver.StateRunning {
						t.Fatalf("2s into the rollout: %s, want the old and the new container running", states(during))
					}
					if st := r.status("web"); st.Rollout == nil || st.Rollout.Order != spec.UpdateStartFirst || st.Rollout.From != old[0].ID {
						t.Errorf("status during the rollout: %+v", st.Rollout)
					}
				}
				r.settle(2 * time.Minute)
				after := r.byName("web")
				if len(after) != 1 {
					t.Fatalf("after the rollout: %s, want one container", states(after))
				}
				st := r.status("web")
				switch tt.wantResult {
				case RolloutSucceeded:
					if after[0].ID == old[0].ID || after[0].State != driver.StateRunning {
						t.Errorf("after a good rollout: %s, want the new container running", states(after))
					}
					if rolloutFailed(st) || st.Rollout != nil {
						t.Errorf("status after a good rollout: %+v", st)
					}
				case RolloutFailed:
					if after[0].ID != old[0].ID || after[0].State != driver.StateRunning || !after[0].StartedAt.Equal(old[0].StartedAt) {
						t.Errorf("after a failed rollout: %s (started %v), want the old container %s still in its first run", states(after), after[0].StartedAt, old[0].ID)
					}
					if !rolloutFailed(st) || st.Rollout == nil || st.Rollout.Failed == "" {
						t.Errorf("status after a failed rollout: %+v", st)
					}
					if st.State != StateRunning || st.ContainerID != old[0].ID {
						t.Errorf("status after a failed rollout: %s %s, want running %s", st.State, st.ContainerID, old[0].ID)
					}
					if !r.eng.Converged() {
						t.Error("a failed rollout leaves the name unsettled; want it settled until the spec changes")
					}
					// No retry on the same spec, over resyncs.
					creates := r.rec.actions[ActionCreate]
					r.settle(5 * time.Minute)
					if n := r.rec.actions[ActionCreate]; n != creates {
						t.Errorf("%d creates after the failure, want none", n-creates)
					}
				}
				if got := obs.results(); !slices.Equal(got, []string{"web start-first " + string(tt.wantResult)}) {
					t.Errorf("rollouts reported %q", got)
				}
			})
		})
	}
}

// After a failed rollout, a change of the spec is rolled out again.
func TestRolloutFailedThenChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gate{}
		g.open.Store(true)
		r, obs := startRollouts(t, openSim(t, ""), snapshot(ctr("web", img2022, env("1"))), g)
		r.waitConverged()
		g.open.Store(false)
		r.apply(snapshot(ctr("web", img2022, env("2"), update(spec.UpdateStartFirst, 30*time.Second))))
		r.settle(time.Minute)
		if !rolloutFailed(r.status("web")) {
			t.Fatalf("status %+v, want RolloutFailed", r.status("web"))
		}
		g.open.Store(true)
		v3 := ctr("web", img2022, env("3"))
		r.apply(snapshot(v3))
		r.settle(time.Minute)
		r.waitConverged()
		after := r.byName("web")
		host, _ := r.drv.Host(context.Background())
		want := Admit(context.Background(), host, r.drv, []*spec.Container{v3}, AdmitOptions{Owner: DefaultOwner})[0].Config.Hash
		if len(after) != 1 || after[0].Hash != want {
			t.Errorf("after the next change: %s, want the container of hash %s", states(after), want)
		}
		if st := r.status("web"); rolloutFailed(st) {
			t.Errorf("status %+v still says RolloutFailed", st)
		}
		if got := obs.results(); !slices.Equal(got, []string{"web start-first failed", "web start-first succeeded"}) {
			t.Errorf("rollouts reported %q", got)
		}
	})
}

// Stop-first (chosen, or forced by a host port): the old container is
// gone before the new one is created; when the new one is not ready in
// time, the previous configuration comes back.
func TestRolloutStopFirst(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*spec.Spec)
		ready bool
	}{
		{"chosen, ready", update(spec.UpdateStopFirst, time.Minute), true},
		{"forced by a host port, ready", func(s *spec.Spec) { hostPort(s); update(spec.UpdateStartFirst, time.Minute)(s) }, true},
		{"chosen, never ready", update(spec.UpdateStopFirst, time.Minute), false},
		{"forced by a host port, never ready", func(s *spec.Spec) { hostPort(s); update(spec.UpdateStartFirst, time.Minute)(s) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &gate{}
				g.open.Store(true)
				r, obs := startRollouts(t, openSim(t, ""), snapshot(ctr("web", img2022, env("1"), tt.edit)), g)
				r.waitConverged()
				old := r.byName("web")
				g.open.Store(tt.ready)
				r.apply(snapshot(ctr("web", img2022, env("2"), tt.edit)))
				r.settle(2 * time.Second)
				if during := r.byName("web"); len(during) != 1 || during[0].ID == old[0].ID {
					t.Fatalf("2s into a stop-first rollout: %s, want only the new container", states(during))
				}
				r.settle(2 * time.Minute)
				after := r.byName("web")
				st := r.status("web")
				if len(after) != 1 || after[0].State != driver.StateRunning {
					t.Fatalf("after the rollout: %s, want one running container", states(after))
				}
				if tt.ready {
					if after[0].ID == old[0].ID || rolloutFailed(st) {
						t.Errorf("after a good rollout: %s, status %+v", states(after), st.Conditions)
					}
					if got := obs.results(); !slices.Equal(got, []string{"web stop-first succeeded"}) {
						t.Errorf("rollouts reported %q", got)
					}
					return
				}
				if after[0].ID != old[0].ID || after[0].Hash != old[0].Hash {
					t.Errorf("after a failed stop-first rollout: %s, want the previous configuration (%s) back", states(after), old[0].ID)
				}
				if !rolloutFailed(st) || !r.eng.Converged() {
					t.Errorf("status %+v, converged %v; want RolloutFailed and settled", st.Conditions, r.eng.Converged())
				}
				if got := obs.results(); !slices.Equal(got, []string{"web stop-first failed"}) {
					t.Errorf("rollouts reported %q", got)
				}
			})
		})
	}
}

// A rollout's wait holds no worker: with one worker, a spec added while
// a rollout waits is created at once.
func TestRolloutDoesNotHoldOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gate{}
		g.open.Store(true)
		r, _ := startRollouts(t, openSim(t, ""), snapshot(ctr("web", img2022, env("1"))), g, func(o *EngineOptions) { o.Workers = 1 })
		r.waitConverged()
		g.open.Store(false)
		web2 := ctr("web", img2022, env("2"), update(spec.UpdateStartFirst, time.Hour))
		r.apply(snapshot(web2))
		r.settle(3 * time.Second)
		r.apply(snapshot(web2, ctr("db", img2022)))
		r.settle(3 * time.Second)
		if db := r.byName("db"); len(db) != 1 || db[0].State != driver.StateRunning {
			t.Errorf("db while web's rollout waits: %s, want running", states(db))
		}
		if web := r.byName("web"); len(web) != 2 {
			t.Errorf("web: %s, want the old and the new container", states(web))
		}
	})
}

// An agent that starts mid-rollout (two containers of one spec) goes on
// with it: the old container stays until the new one is ready, counted
// from the new one's start; if the new one is not ready by then it goes.
func TestRolloutAfterAgentRestart(t *testing.T) {
	for _, ready := range []bool{true, false} {
		name := map[bool]string{true: "new one ready", false: "new one never ready"}[ready]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				drv := openSim(t, "")
				g := &gate{}
				g.open.Store(true)
				r, _ := startRollouts(t, drv, snapshot(ctr("web", img2022, env("1"))), g)
				r.waitConverged()
				old := r.byName("web")[0]
				g.open.Store(false)
				v2 := ctr("web", img2022, env("2"), update(spec.UpdateStartFirst, time.Minute))
				r.apply(snapshot(v2))
				r.settle(3 * time.Second)
				r.stop()
				if cs := r.byName("web"); len(cs) != 2 {
					t.Fatalf("when the agent stops: %s, want two containers", states(cs))
				}

				g2 := &gate{}
				g2.open.Store(ready)
				r2, obs := startRollouts(t, drv, snapshot(v2), g2)
				r2.settle(10 * time.Second)
				if cs := r2.byName("web"); ready && len(cs) != 1 || !ready && len(cs) != 2 {
					t.Fatalf("10s after the restart: %s", states(cs))
				}
				r2.settle(2 * time.Minute)
				after := r2.byName("web")
				if len(after) != 1 {
					t.Fatalf("after the rollout: %s, want one container", states(after))
				}
				if got := after[0].ID == old.ID; got == ready {
					t.Errorf("after: %s; old %s kept = %v, want %v", states(after), old.ID, got, !ready)
				}
				want := "web start-first " + string(map[bool]RolloutResult{true: RolloutSucceeded, false: RolloutFailed}[ready])
				if got := obs.results(); !slices.Equal(got, []string{want}) {
					t.Errorf("rollouts reported %q, want %q", got, want)
				}
			})
		})
	}
}

// A container the driver lists under the desired ID but without its hash
// (its network went) is recreated as it always was: no rollout, since
// two containers of one ID cannot run.
func TestPlanRepairIsNoRollout(t *testing.T) {
	drv := openSim(t, "")
	ctx := context.Background()
	host, err := drv.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds := Admit(ctx, host, drv, []*spec.Container{ctr("web", img2022)}, AdmitOptions{Owner: DefaultOwner})
	actual := []driver.Container{{ID: ds[0].Config.ID, Name: "web", Owner: DefaultOwner, State: driver.StateRunning}}
	acts := Plan(ds, actual, PlanOptions{Owner: DefaultOwner})
	if len(acts) != 1 || acts[0].Kind != ActionRecreate || acts[0].Order != "" || isRollout(acts[0]) {
		t.Fatalf("plan %+v, want one recreate that is no rollout", acts)
	}
}

// Plan shows the order a change would be rolled out in, and why when a
// host port forces stop-first.
func TestPlanShowsRolloutOrder(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*spec.Spec)
		want      spec.UpdateOrder
		wantWhy   string
		wantInStr string
	}{
		{"default", func(*spec.Spec) {}, spec.UpdateStartFirst, "", "config changed; start-first"},
		{"chosen stop-first", update(spec.UpdateStopFirst, 0), spec.UpdateStopFirst, "", "config changed; stop-first"},
		{"host port", hostPort, spec.UpdateStopFirst, "host port 8080/tcp", "stop-first: it maps host port 8080/tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drv := openSim(t, "")
			ctx := context.Background()
			host, err := drv.Host(ctx)
			if err != nil {
				t.Fatal(err)
			}
			v1 := Admit(ctx, host, drv, []*spec.Container{ctr("web", img2022, env("1"), tt.edit)}, AdmitOptions{Owner: DefaultOwner})
			actual := []driver.Container{{ID: v1[0].Config.ID, Name: "web", Owner: DefaultOwner, Hash: v1[0].Config.Hash, State: driver.StateRunning}}
			v2 := Admit(ctx, host, drv, []*spec.Container{ctr("web", img2022, env("2"), tt.edit)}, AdmitOptions{Owner: DefaultOwner})
			acts := Plan(v2, actual, PlanOptions{Owner: DefaultOwner})
			if len(acts) != 1 || acts[0].Kind != ActionRecreate {
				t.Fatalf("plan %v, want one recreate", acts)
			}
			a := acts[0]
			if a.Order != tt.want || !strings.Contains(a.OrderReason, tt.wantWhy) || !strings.Contains(a.String(), tt.wantInStr) {
				t.Errorf("recreate: order %q (%q), %q; want %q, %q", a.Order, a.OrderReason, a.String(), tt.want, tt.wantInStr)
			}
		})
	}
}

// readyImages is an Images whose registry describes every image for an
// LTSC 2022 host and whose host has them all; it records what Ensure is
// asked for, and when.
type readyImages struct {
	mu    sync.Mutex
	asked map[string][]time.Time
}

func (i *readyImages) Lookup(_ context.Context, ref imageref.Ref, _ bool, _ driver.Host) (RegistryAnswer, error) {
	return RegistryAnswer{OSVersion: driver.OSVersion{Major: 10, Build: 20348}}, nil
}

func (i *readyImages) Ensure(_ context.Context, ref imageref.Ref, digest string) PullState {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.asked[ref.String()] = append(i.asked[ref.String()], time.Now())
	return PullState{Ref: ref, Digest: digest, Ready: true}
}

func (i *readyImages) Pulls() []PullState { return nil }

func (i *readyImages) askedSince(ref string, since time.Time) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	n := 0
	for _, at := range i.asked[ref] {
		if !at.Before(since) {
			n++
		}
	}
	return n
}

// While a stop-first rollout runs, the image of the configuration a
// failure brings back is asked for, so image GC keeps it though no
// container uses it; the failure then brings that configuration back
// from it.
func TestRolloutKeepsThePreviousImage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const v1, v2 = "registry.example/app:v1", "registry.example/app:v2"
		drv := openSim(t, "")
		for _, ref := range []string{v1, v2} {
			if err := drv.Model().SetImage(ref, driver.OSVersion{Major: 10, Build: 20348}); err != nil {
				t.Fatal(err)
			}
		}
		imgs := &readyImages{asked: map[string][]time.Time{}}
		g := &gate{}
		g.open.Store(true)
		stopFirst := update(spec.UpdateStopFirst, time.Minute)
		r, _ := startRollouts(t, drv, snapshot(ctr("app", v1, stopFirst)), g, func(o *EngineOptions) { o.Images = imgs })
		r.waitConverged()
		old := r.byName("app")
		g.open.Store(false)
		began := time.Now()
		r.apply(snapshot(ctr("app", v2, stopFirst)))
		r.settle(30 * time.Second)
		if cs := r.byName("app"); len(cs) != 1 || cs[0].Image.String() != v2 {
			t.Fatalf("30s into the rollout: %s, want only the new container", states(cs))
		}
		if n := imgs.askedSince(v1, began); n < 10 {
			t.Errorf("the previous image was asked for %d times in the rollout's first 30s, want about once a second", n)
		}
		r.settle(time.Minute)
		after := r.byName("app")
		if len(after) != 1 || after[0].ID != old[0].ID || after[0].Image.String() != v1 {
			t.Errorf("after the failure: %s, want %s of %s back", states(after), old[0].ID, v1)
		}
	})
}

// An agent that starts with a spec changed since the last agent ran it
// knows the old configuration from the driver, which keeps each
// container's config: a failed stop-first rollout brings it back too.
func TestRolloutStopFirstAfterAgentRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		r, _ := startRollouts(t, drv, snapshot(ctr("web", img2022, env("1"), hostPort)), nil)
		r.waitConverged()
		old := r.byName("web")
		r.stop()

		g := &gate{} // never ready
		r2, obs := startRollouts(t, drv, snapshot(ctr("web", img2022, env("2"), hostPort, update(spec.UpdateStartFirst, time.Minute))), g)
		r2.settle(2 * time.Second)
		if cs := r2.byName("web"); len(cs) != 1 || cs[0].ID == old[0].ID {
			t.Fatalf("2s into the rollout: %s, want only the new container", states(cs))
		}
		r2.settle(2 * time.Minute)
		if after := r2.byName("web"); len(after) != 1 || after[0].ID != old[0].ID || after[0].State != driver.StateRunning {
			t.Errorf("after the failure: %s, want %s back and running", states(after), old[0].ID)
		}
		if got := obs.results(); !slices.Equal(got, []string{"web stop-first failed"}) {
			t.Errorf("rollouts reported %q", got)
		}
	})
}

// updateMonitorOf sets update.monitor; nil leaves the default.
func updateMonitorOf(d *time.Duration) func(*spec.Spec) {
	return func(s *spec.Spec) {
		if d != nil {
			m := spec.Duration(*d)
			s.Update.Monitor = &m
		}
	}
}

// update.monitor is how long a new container without a health check runs
// before a start-first rollout stops the old one: 0s stops it as soon as
// the new one runs, in the reconcile that started it; the default waits
// Swarm's 5 seconds.
func TestRolloutUpdateMonitor(t *testing.T) {
	dur := func(d time.Duration) *time.Duration { return &d }
	for _, tt := range []struct {
		name    string
		monitor *time.Duration
		want    time.Duration // from the change to the old container stopped
	}{
		{"0s", dur(0), 0},
		{"1.5s", dur(1500 * time.Millisecond), 1500 * time.Millisecond},
		{"default", nil, 5 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, obs := startRollouts(t, openSim(t, ""), snapshot(ctr("web", img2022, env("1"), updateMonitorOf(tt.monitor))), nil)
				r.waitConverged()
				r.settle(time.Minute)
				old := r.byName("web")
				if len(old) != 1 {
					t.Fatalf("before the change: %s", states(old))
				}
				t0 := time.Now()
				r.apply(snapshot(ctr("web", img2022, env("2"), updateMonitorOf(tt.monitor))))
				synctest.Wait()
				// Look every 10 ms of fake time until the old one is gone.
				for {
					cs := r.byName("web")
					if !slices.ContainsFunc(cs, func(c driver.Container) bool { return c.ID == old[0].ID && c.State == driver.StateRunning }) {
						if len(cs) != 1 || cs[0].State != driver.StateRunning {
							t.Fatalf("after the rollout: %s, want the new container running alone", states(cs))
						}
						break
					}
					if time.Since(t0) > time.Minute {
						t.Fatalf("the old container still runs a minute into the rollout: %s", states(cs))
					}
					r.settle(10 * time.Millisecond)
				}
				if took := time.Since(t0); took < tt.want || took > tt.want+10*time.Millisecond {
					t.Errorf("the old container stopped %v after the change, want %v", took, tt.want)
				}
				if got := obs.results(); len(got) != 1 || got[0] != "web start-first succeeded" {
					t.Errorf("rollouts reported %q, want one success", got)
				}
			})
		})
	}
}

// slowImages is the sim, whose image lookups take 100 ms, as a host that
// reads an image's config from disk does.
type slowImages struct{ *sim.Driver }

func (s slowImages) Image(ctx context.Context, ref imageref.Ref) (driver.Image, error) {
	time.Sleep(100 * time.Millisecond)
	return s.Driver.Image(ctx, ref)
}

// A rollout whose new container is ready once it runs (update.monitor 0s)
// goes on as soon as the health hook has found that the container has no
// check (the image has no HEALTHCHECK), not a poll later.
func TestRolloutGoesOnWhenHealthIsResolved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zero := time.Duration(0)
		drv := openSim(t, "")
		r, obs := startRollouts(t, drv, snapshot(ctr("web", img2022, env("1"), updateMonitorOf(&zero))), nil,
			func(o *EngineOptions) { o.Driver = slowImages{drv} })
		r.waitConverged()
		r.settle(time.Minute)
		old := r.byName("web")
		t0 := time.Now()
		r.apply(snapshot(ctr("web", img2022, env("2"), updateMonitorOf(&zero))))
		for slices.ContainsFunc(r.byName("web"), func(c driver.Container) bool { return c.ID == old[0].ID }) {
			if time.Since(t0) > time.Minute {
				t.Fatalf("the old container is still there a minute into the rollout: %s", states(r.byName("web")))
			}
			r.settle(10 * time.Millisecond)
		}
		if took := time.Since(t0); took >= rolloutPoll {
			t.Errorf("the old container went %v after the change, want less than a rollout poll (%v): the image lookup takes 100 ms", took, rolloutPoll)
		}
		if got := obs.results(); len(got) != 1 || got[0] != "web start-first succeeded" {
			t.Errorf("rollouts reported %q, want one success", got)
		}
	})
}

// update.monitor 0s does not apply to a container whose image has a
// HEALTHCHECK: the old container serves until the new one is healthy, even
// when the rollout looks before the health hook has asked about the image.
func TestRolloutZeroMonitorWaitsForImageHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zero := time.Duration(0)
		drv := openSim(t, "")
		if err := drv.Model().SetImageHealthcheck(img2022, &driver.ImageHealthcheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
		r, obs := startRollouts(t, drv, snapshot(ctr("web", img2022, env("1"), serving(), updateMonitorOf(&zero))), nil)
		r.waitConverged()
		r.settle(time.Minute)
		old := r.byName("web")
		r.apply(snapshot(ctr("web", img2022, env("2"), serving(), updateMonitorOf(&zero))))
		r.settle(2 * time.Second)
		if during := r.byName("web"); len(during) != 2 {
			t.Fatalf("2s into the rollout, before the first probe: %s, want the old and the new container", states(during))
		}
		r.settle(10 * time.Second)
		after := r.byName("web")
		if len(after) != 1 || after[0].ID == old[0].ID || after[0].State != driver.StateRunning {
			t.Fatalf("after the new container turned healthy: %s, want it alone", states(after))
		}
		if got := obs.results(); len(got) != 1 || got[0] != "web start-first succeeded" {
			t.Errorf("rollouts reported %q, want one success", got)
		}
	})
}
