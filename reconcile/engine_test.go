package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/spec"
)

// recorder is an Observer that counts what the engine did.
type recorder struct {
	mu        sync.Mutex
	actions   map[ActionKind]int
	failed    map[ActionKind]int
	results   map[Outcome]int
	restarts  []time.Time
	rejected  map[Reason]int
	converged int
}

func newRecorder() *recorder {
	return &recorder{actions: map[ActionKind]int{}, failed: map[ActionKind]int{}, results: map[Outcome]int{}, rejected: map[Reason]int{}}
}

func (r *recorder) Reconciled(res Outcome, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results[res]++
}

func (r *recorder) Action(k ActionKind, err error, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed[k]++
		return
	}
	r.actions[k]++
}
func (r *recorder) DriverOp(driver.Op, error, time.Duration) {}
func (r *recorder) Restarted(string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restarts = append(r.restarts, time.Now())
}
func (r *recorder) Rejected(_ string, reason Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected[reason]++
}
func (r *recorder) Converged(time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.converged++
}

// counts returns "create=N start=N stop=N remove=N".
func (r *recorder) counts() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("create=%d start=%d stop=%d remove=%d", r.actions[ActionCreate], r.actions[ActionStart], r.actions[ActionStop], r.actions[ActionRemove])
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.actions)
	clear(r.failed)
	clear(r.results)
	r.restarts = nil
}

// snapshot declares specs, each from its own valid file.
func snapshot(specs ...*spec.Container) *spec.Snapshot {
	snap := &spec.Snapshot{Dir: "specs", LoadedAt: time.Now()}
	for _, c := range specs {
		snap.Specs = append(snap.Specs, c)
		snap.Files = append(snap.Files, spec.File{Path: c.Source.File, Names: []string{c.Name()}})
	}
	return snap
}

const testResync = 30 * time.Second

type rig struct {
	t      *testing.T
	drv    *sim.Driver
	eng    *Engine
	rec    *recorder
	cancel context.CancelFunc
	done   chan error
}

func openSim(t *testing.T, dir string) *sim.Driver {
	t.Helper()
	d, err := sim.Open(dir, sim.Options{Host: driver.Host{Name: "WEB-01"}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// start runs an engine over drv with snap, when not nil, as the folder's
// content handed in before Run, as the agent's watcher does at start.
func start(t *testing.T, drv *sim.Driver, snap *spec.Snapshot, edit ...func(*EngineOptions)) *rig {
	t.Helper()
	r := &rig{t: t, drv: drv, rec: newRecorder(), done: make(chan error, 1)}
	opts := EngineOptions{
		Driver: drv, Workers: 2, Resync: testResync, Observer: r.rec,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, e := range edit {
		e(&opts)
	}
	r.eng = NewEngine(opts)
	r.eng.Update(snap)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.eng.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *rig) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	if err := <-r.done; err != nil {
		r.t.Errorf("Run = %v", err)
	}
	r.cancel = nil
}

// apply changes the folder and tells the engine at once, as a watcher would.
func (r *rig) apply(snap *spec.Snapshot) { r.eng.Update(snap) }

// waitConverged waits, in fake time, until the engine has converged.
func (r *rig) waitConverged() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := r.eng.WaitConverged(ctx); err != nil {
		r.t.Fatalf("not converged after 10 min: %v: %+v", err, r.eng.Status())
	}
}

// settle lets the engine run for d of fake time.
func (r *rig) settle(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// containers returns the owned containers by name.
func (r *rig) containers() map[string]driver.Container {
	r.t.Helper()
	cs, err := r.drv.List(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	m := map[string]driver.Container{}
	for _, c := range cs {
		if _, dup := m[c.Name]; dup {
			r.t.Errorf("two containers named %s", c.Name)
		}
		m[c.Name] = c
	}
	return m
}

func (r *rig) requireRunning(names ...string) map[string]driver.Container {
	r.t.Helper()
	cs := r.containers()
	for _, n := range names {
		if c, ok := cs[n]; !ok || c.State != driver.StateRunning {
			r.t.Errorf("%s: %+v, want running", n, c)
		}
	}
	return cs
}

func (r *rig) status(name string) ContainerStatus {
	for _, c := range r.eng.Status().Containers {
		if c.Name == name {
			return c
		}
	}
	r.t.Fatalf("no status for %s", name)
	return ContainerStatus{}
}

func hasCondition(conds []Condition, typ ConditionType) bool {
	return slices.ContainsFunc(conds, func(c Condition) bool { return c.Type == typ })
}

func threeSpecs() []*spec.Container {
	return []*spec.Container{ctr("a", img2022), ctr("b", img2022), ctr("c", img2022)}
}

func TestEngineConvergesFromEmpty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, openSim(t, ""), snapshot(threeSpecs()...))
		r.waitConverged()
		cs := r.requireRunning("a", "b", "c")
		if got := r.rec.counts(); got != "create=3 start=3 stop=0 remove=0" {
			t.Errorf("actions %s", got)
		}
		st := r.eng.Status()
		if !st.Ready || !st.Converged || st.Host.OSVersion.Build != 20348 {
			t.Errorf("status %+v", st)
		}
		r.settle(2 * time.Second) // a relist brings the driver's view in
		a := r.status("a")
		if a.State != StateRunning || a.ContainerID != cs["a"].ID || a.InitPID == 0 || a.EffectiveIsolation != driver.Process || a.RequestedIsolation != "default" {
			t.Errorf("status of a: %+v", a)
		}
	})
}

// Point 5(a): an agent restart over an unchanged folder adopts everything.
func TestEngineAdoptsAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		snap := snapshot(threeSpecs()...)
		first := start(t, openSim(t, dir), snap)
		first.waitConverged()
		before := first.containers()
		first.stop()

		second := start(t, openSim(t, dir), snap)
		second.waitConverged()
		second.settle(2 * testResync)
		if got := second.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
			t.Errorf("second engine acted: %s", got)
		}
		after := second.requireRunning("a", "b", "c")
		for n, c := range before {
			if after[n].ID != c.ID || !after[n].StartedAt.Equal(c.StartedAt) {
				t.Errorf("%s changed across the restart: %+v -> %+v", n, c, after[n])
			}
		}
	})
}

// Point 5(c): a change to the effective config recreates exactly that
// container.
func TestEngineRecreatesExactlyTheChangedContainer(t *testing.T) {
	changes := map[string]func(*spec.Spec){
		"isolation": func(s *spec.Spec) { s.Isolation = spec.IsolationHyperV },
		"image":     func(s *spec.Spec) { s.Image = "mcr.microsoft.com/windows/nanoserver:ltsc2022" },
		"command":   func(s *spec.Spec) { s.Command = []string{"ping", "-t", "localhost"} },
		"env":       func(s *spec.Spec) { s.Env = map[string]string{"X": "1"} },
		"mount":     func(s *spec.Spec) { s.Mounts = []spec.Mount{{HostPath: `D:\data`, ContainerPath: `C:\data`}} },
		"pipe":      func(s *spec.Spec) { s.Pipes = []spec.Pipe{{HostPipe: `\\.\pipe\p`, ContainerPipe: `\\.\pipe\p`}} },
		"port":      func(s *spec.Spec) { s.Ports = []spec.Port{{HostPort: 8080, ContainerPort: 80}} },
		"device":    func(s *spec.Spec) { s.Devices = []spec.Device{{ClassGUID: "5B45201D-F2F2-4F3B-85BB-30FF1F953599"}} },
		"resources": func(s *spec.Spec) { s.Resources.MemoryMB = 512 },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				specs := threeSpecs()
				r := start(t, openSim(t, ""), snapshot(specs...))
				r.waitConverged()
				before := r.containers()
				r.rec.reset()

				changed := *specs[1]
				change(&changed.Spec)
				r.apply(snapshot(specs[0], &changed, specs[2]))
				r.waitConverged()
				r.settle(testResync)

				if got := r.rec.counts(); got != "create=1 start=1 stop=1 remove=1" {
					t.Errorf("actions %s, want one recreate", got)
				}
				after := r.requireRunning("a", "b", "c")
				if after["a"].ID != before["a"].ID || after["c"].ID != before["c"].ID {
					t.Error("an unchanged container was recreated")
				}
				if after["b"].ID == before["b"].ID {
					t.Error("the changed container kept its ID")
				}
			})
		})
	}
}

func TestEngineNoChangeForRestartPolicyOrLabels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		specs := threeSpecs()
		r := start(t, openSim(t, ""), snapshot(specs...))
		r.waitConverged()
		r.rec.reset()
		b := *specs[1]
		b.Spec.RestartPolicy = spec.RestartNever
		b.Spec.StopTimeout = spec.Duration(time.Minute)
		b.Metadata.Labels = map[string]string{"team": "x"}
		r.apply(snapshot(specs[0], &b, specs[2]))
		r.waitConverged()
		if got := r.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
			t.Errorf("actions %s", got)
		}
	})
}

// Drift: a container killed or removed behind the agent's back is put right
// within one resync interval.
func TestEngineResyncRestoresDrift(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, openSim(t, ""), snapshot(threeSpecs()...))
		r.waitConverged()
		r.settle(2 * time.Second)
		r.rec.reset()
		m := r.drv.Model()
		if err := m.Kill("a", 137); err != nil {
			t.Fatal(err)
		}
		if err := m.ForceRemove("b"); err != nil {
			t.Fatal(err)
		}
		r.settle(testResync + time.Second)
		r.requireRunning("a", "b", "c")
		if got := r.rec.counts(); got != "create=1 start=2 stop=0 remove=0" {
			t.Errorf("actions %s, want a restarted and b created", got)
		}
		if n := r.status("a").RestartCount; n != 1 {
			t.Errorf("restart count of a = %d, want 1", n)
		}
	})
}

func TestEnginePrunesOwnedContainersOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		foreign := driver.Config{ID: "docker-c", Name: "c", Owner: "docker", Isolation: driver.Process, Image: img2022}
		if err := drv.Model().AddForeign(foreign); err != nil {
			t.Fatal(err)
		}
		specs := threeSpecs()
		r := start(t, drv, snapshot(specs...))
		r.waitConverged()
		r.rec.reset()
		r.apply(snapshot(specs[0], specs[1]))
		r.waitConverged()
		if got := r.rec.counts(); got != "create=0 start=0 stop=1 remove=1" {
			t.Errorf("actions %s, want c pruned", got)
		}
		if _, ok := r.containers()["c"]; ok {
			t.Error("c still there")
		}
		all, err := drv.Model().Containers("")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(all, func(c driver.Container) bool { return c.ID == "docker-c" && c.State == driver.StateRunning }) {
			t.Errorf("the foreign container was touched: %+v", all)
		}
	})
}

func TestEngineRestartPolicies(t *testing.T) {
	exit := func(code int) func(*spec.Spec) {
		return func(s *spec.Spec) { s.Command = []string{"cmd", "/c", "exit", fmt.Sprint(code)} }
	}
	policy := func(p spec.RestartPolicy) func(*spec.Spec) { return func(s *spec.Spec) { s.RestartPolicy = p } }
	tests := []struct {
		name      string
		spec      *spec.Container
		restarted bool
	}{
		{"always restarts a clean exit", ctr("x", img2022, exit(0), policy(spec.RestartAlways)), true},
		{"always restarts a failure", ctr("x", img2022, exit(1), policy(spec.RestartAlways)), true},
		{"on-failure restarts a failure", ctr("x", img2022, exit(2), policy(spec.RestartOnFailure)), true},
		{"on-failure leaves a clean exit", ctr("x", img2022, exit(0), policy(spec.RestartOnFailure)), false},
		{"never leaves a failure", ctr("x", img2022, exit(1), policy(spec.RestartNever)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := start(t, openSim(t, ""), snapshot(tt.spec))
				r.settle(time.Minute)
				n := r.status("x").RestartCount
				if tt.restarted && n == 0 || !tt.restarted && n != 0 {
					t.Errorf("restarted %d times, want restarts: %v", n, tt.restarted)
				}
				if !tt.restarted {
					if st := r.status("x"); st.State != StateExited || st.ExitCode == nil || !r.eng.Converged() {
						t.Errorf("status %+v, converged %v; want exited and settled", st, r.eng.Converged())
					}
				}
			})
		})
	}
}

// A crash loop backs off 10 s doubling to 5 min, and never holds up other
// containers.
func TestEngineCrashLoopBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crash := ctr("crash", img2022, func(s *spec.Spec) { s.Command = []string{"cmd", "/c", "exit", "1"} })
		r := start(t, openSim(t, ""), snapshot(crash, ctr("ok", img2022)))
		r.settle(30 * time.Minute)
		r.requireRunning("ok")
		r.rec.mu.Lock()
		restarts := slices.Clone(r.rec.restarts)
		r.rec.mu.Unlock()
		if len(restarts) < 5 {
			t.Fatalf("only %d restarts in 30 min", len(restarts))
		}
		for i := 1; i < len(restarts); i++ {
			gap := restarts[i].Sub(restarts[i-1])
			want := exponential(crashBackoffBase, crashBackoffMax, i-1)
			if gap < want || gap > want+testResync+2*time.Second {
				t.Errorf("gap before restart %d = %s, want %s (+ up to one resync)", i, gap, want)
			}
		}
		if r.eng.Converged() {
			t.Error("converged while crash-looping")
		}
		st := r.status("crash")
		if st.RestartCount != len(restarts) || st.State != StateExited && st.State != StateRunning {
			t.Errorf("status %+v", st)
		}
	})
}

func TestEngineCrashBackoffResetsAfterTenMinutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		long := ctr("long", img2022, func(s *spec.Spec) { s.Command = []string{"ping", "-n", "700", "localhost"} })
		r := start(t, openSim(t, ""), snapshot(long), func(o *EngineOptions) { o.Resync = time.Second })
		r.settle(4 * 702 * time.Second)
		r.rec.mu.Lock()
		restarts := slices.Clone(r.rec.restarts)
		r.rec.mu.Unlock()
		if len(restarts) < 3 {
			t.Fatalf("%d restarts", len(restarts))
		}
		for i := 1; i < len(restarts); i++ {
			if gap := restarts[i].Sub(restarts[i-1]); gap > 703*time.Second {
				t.Errorf("restart %d waited %s after a 700 s run; backoff was not reset", i, gap-700*time.Second)
			}
		}
	})
}

// slowStart delays the start of one container, as a slow or hung HCS call
// would.
type slowStart struct {
	*sim.Driver
	id    string
	delay time.Duration
}

func (s slowStart) Start(ctx context.Context, id string) error {
	if id == s.id {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Driver.Start(ctx, id)
}

func TestEngineRetriesErrorsWithBackoffPerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		specs := []*spec.Container{ctr("a", img2022), ctr("b", img2022), ctr("c", img2022), ctr("d", img2022)}
		// a's start hangs for a minute; b..d must not wait for it.
		aID := admitted(t, specs[0])[0].Config.ID
		r := start(t, drv, snapshot(specs...), func(o *EngineOptions) {
			o.Driver = slowStart{Driver: drv, id: aID, delay: time.Minute}
		})
		r.settle(5 * time.Second)
		cs := r.containers()
		for _, n := range []string{"b", "c", "d"} {
			if cs[n].State != driver.StateRunning {
				t.Errorf("%s held up by a slow key: %+v", n, cs[n])
			}
		}
		if cs["a"].State == driver.StateRunning {
			t.Error("a started despite the delay")
		}
		r.waitConverged()

		// Create fails three times: retried with growing waits, then done.
		if err := drv.InjectFault(sim.Fault{Op: driver.OpCreate, Count: 3, Err: driver.ErrUnavailable}); err != nil {
			t.Fatal(err)
		}
		r.rec.reset()
		began := time.Now()
		r.apply(snapshot(append(specs, ctr("e", img2022))...))
		r.waitConverged()
		r.requireRunning("e")
		r.rec.mu.Lock()
		failed, errs := r.rec.failed[ActionCreate], r.rec.results[OutcomeError]
		r.rec.mu.Unlock()
		if failed != 3 || errs != 3 {
			t.Errorf("failed creates %d, error results %d; want 3 and 3", failed, errs)
		}
		// Backoff 1s, 2s, 4s with jitter to half: at least 3.5 s in all.
		if took := time.Since(began); took < 3500*time.Millisecond || took > 8*time.Second {
			t.Errorf("converged after %s, want the backoff of three failures", took)
		}
		if st := r.status("e"); st.LastError != "" {
			t.Errorf("last error kept after success: %q", st.LastError)
		}
	})
}

func TestEnginePermanentErrorIsNotRetriedUntilResync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		if err := drv.InjectFault(sim.Fault{Op: driver.OpCreate, Count: 1, Err: driver.ErrVersionMismatch}); err != nil {
			t.Fatal(err)
		}
		r := start(t, drv, snapshot(ctr("a", img2022)))
		r.settle(testResync - 2*time.Second)
		r.rec.mu.Lock()
		failed := r.rec.failed[ActionCreate]
		r.rec.mu.Unlock()
		if failed != 1 {
			t.Errorf("%d failed creates before the resync, want 1 (terminal)", failed)
		}
		if st := r.status("a"); st.LastError == "" || r.eng.Converged() {
			t.Errorf("status %+v, converged %v", st, r.eng.Converged())
		}
		r.waitConverged() // the resync tries again, and the fault is used up
		r.requireRunning("a")
	})
}

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
				dup.Spec.Image = img2019
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
				bad.Spec.Image = img2019
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

func TestEngineAllowEmptyPrunesEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, openSim(t, ""), snapshot(threeSpecs()...), func(o *EngineOptions) { o.AllowEmpty = true })
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

// A container that shares another's network waits for that one to run
// instead of failing against the host: no create fails, whatever the order
// the workers pick the keys in.
func TestEngineSharedNetworkWaitsForItsTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sidecar := ctr("a-sidecar", img2022, func(s *spec.Spec) {
			s.Isolation = spec.IsolationProcess
			s.Network.Mode = "container:z-app"
		})
		app := ctr("z-app", img2022, func(s *spec.Spec) { s.Isolation = spec.IsolationProcess })
		drv := openSim(t, "")
		// The app starts slowly, so the sidecar's worker gets there first.
		drv.InjectFault(sim.Fault{Op: "start", Count: 1, Delay: 3 * time.Second})
		r := start(t, drv, snapshot(sidecar, app))
		r.waitConverged()
		r.requireRunning("a-sidecar", "z-app")
		r.rec.mu.Lock()
		defer r.rec.mu.Unlock()
		if len(r.rec.failed) != 0 {
			t.Errorf("failed actions: %v", r.rec.failed)
		}
	})
}

// networkWait answers from what the engine has cached, whichever way the
// cache changed: the engine's own steps, relists, or a container under
// another name that carries the same ID.
func TestEngineNetworkWaitFollowsTheCache(t *testing.T) {
	drv := openSim(t, "")
	eng := NewEngine(EngineOptions{Driver: drv, Logger: slog.New(slog.DiscardHandler)})
	ctx := t.Context()
	d := &Decision{Config: driver.Config{ID: "side-1", NetworkSharedWith: "app-1"}}
	start := Action{Kind: ActionStart, Name: "side", ID: "side-1"}
	app := driver.Config{ID: "app-1", Name: "app", Owner: "isoagent", Isolation: driver.Process, Image: "mcr.microsoft.com/windows/servercore:ltsc2022"}
	setState := func(s driver.State) func() {
		return func() { eng.rec.write("app", withChange("app-1", func(c *driver.Container) { c.State = s })) }
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		what string
		do   func()
		wait bool
	}{
		{"nothing cached", func() {}, true},
		{"created", func() {
			eng.rec.write("app", withContainer(driver.Container{ID: "app-1", Name: "app", State: driver.StateCreated}))
		}, true},
		{"running", setState(driver.StateRunning), false},
		{"another name starts", func() {
			eng.rec.write("other", withContainer(driver.Container{ID: "other-1", Name: "other", State: driver.StateRunning}))
		}, false},
		{"exited", setState(driver.StateExited), true},
		{"running again", setState(driver.StateRunning), false},
		{"gone from the host at a relist", func() { eng.relist(ctx, false) }, true},
		{"found running at a relist", func() {
			must(drv.Create(ctx, app))
			must(drv.Start(ctx, "app-1"))
			eng.relist(ctx, false)
		}, false},
		{"the same ID runs under a second name", func() {
			eng.rec.write("dup", withContainer(driver.Container{ID: "app-1", Name: "dup", State: driver.StateRunning}))
		}, false},
		{"the second name is replaced", func() {
			eng.rec.write("dup", withContainer(driver.Container{ID: "app-1", Name: "dup", State: driver.StateExited}))
		}, false},
		{"stopped by the engine", func() { must(eng.rec.stop(ctx, "app", "app-1", time.Second)) }, true},
		{"started by the engine", func() { must(eng.rec.start(ctx, "app", "app-1")) }, false},
		{"stopped and removed by the engine", func() {
			must(eng.rec.stop(ctx, "app", "app-1", time.Second))
			must(eng.rec.start(ctx, "app", "app-1"))
			must(eng.rec.stop(ctx, "app", "app-1", time.Second))
			must(eng.rec.remove(ctx, "app", "app-1"))
		}, true},
	} {
		step.do()
		if got := eng.rec.networkWait("side", d, start) > 0; got != step.wait {
			t.Errorf("%s: waits %v, want %v", step.what, got, step.wait)
		}
	}
}
