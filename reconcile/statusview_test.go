package reconcile

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// TestBuildStatus pins the status of one name for each combination of its
// decision and its containers that the engine can hold.
func TestBuildStatus(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	web := ctr("web", img2022)
	ok := admitted(t, web)[0]
	rejectedFor := func(reason Reason) Decision {
		d := ok
		d.Rejection = &Rejection{Reason: reason, Field: "spec.x", Message: "no"}
		return d
	}
	cur := driver.Container{ID: ok.Config.ID, Name: "web", Owner: "isoagent", Hash: ok.Config.Hash, Isolation: driver.Process,
		State: driver.StateRunning, StartedAt: now.Add(-time.Hour), InitPID: 4242}
	exited := cur
	exited.State, exited.FinishedAt, exited.ExitCode, exited.InitPID = driver.StateExited, now.Add(-time.Minute), 2, 0
	created := cur
	created.State, created.StartedAt, created.CreatedAt, created.InitPID = driver.StateCreated, time.Time{}, now.Add(-time.Second), 0
	old := driver.Container{ID: "web-0ld", Name: "web", Owner: "isoagent", Hash: "0000", Isolation: driver.HyperV, State: driver.StateRunning}

	tests := []struct {
		name      string
		decision  *Decision
		prune     bool
		actual    []driver.Container
		restarts  restartView
		lastErr   string
		state     State
		conds     []ConditionType
		id        string
		exitCode  *int
		since     time.Time
		effective driver.Isolation
	}{
		{"admitted, no container yet", &ok, true, nil, restartView{}, "", StatePending, nil, "", nil, time.Time{}, driver.Process},
		{"admitted, created", &ok, true, []driver.Container{created}, restartView{}, "", StatePending, nil, cur.ID, nil, created.CreatedAt, driver.Process},
		{"admitted, running", &ok, true, []driver.Container{cur}, restartView{count: 2}, "", StateRunning, nil, cur.ID, nil, cur.StartedAt, driver.Process},
		{"admitted, only an old config runs", &ok, true, []driver.Container{old}, restartView{}, "start web: boom", StatePending, nil, "", nil, time.Time{}, driver.Process},
		{"admitted, exited and left so", &ok, true, []driver.Container{exited}, restartView{}, "", StateExited, nil, cur.ID, new(2), exited.FinishedAt, driver.Process},
		{"admitted, exited, restart held back", &ok, true, []driver.Container{exited}, restartView{count: 5, waiting: now.Add(time.Minute)}, "",
			StateExited, []ConditionType{CondCrashLoop}, cur.ID, new(2), exited.FinishedAt, driver.Process},
		{"admitted, exited, hold-back over", &ok, true, []driver.Container{exited}, restartView{count: 5, waiting: now.Add(-time.Second)}, "",
			StateExited, nil, cur.ID, new(2), exited.FinishedAt, driver.Process},
		{"rejected, nothing runs", new(rejectedFor(ReasonPolicy)), true, nil, restartView{}, "", StateRejected, nil, "", nil, time.Time{}, ""},
		{"rejected, its container kept", new(rejectedFor(ReasonVersionMismatch)), true, []driver.Container{old}, restartView{}, "",
			StateRejected, []ConditionType{CondKeptRunning}, old.ID, nil, time.Time{}, driver.HyperV},
		{"a host port conflict", new(rejectedFor(ReasonConflict)), true, []driver.Container{cur}, restartView{}, "",
			StateConflict, []ConditionType{CondKeptRunning}, cur.ID, nil, time.Time{}, driver.Process},
		{"invalid", new(rejectedFor(ReasonInvalid)), true, nil, restartView{}, "", StateInvalid, nil, "", nil, time.Time{}, ""},
		{"not for this host, nothing here", new(rejectedFor(ReasonNotForThisHost)), true, nil, restartView{}, "", StateElsewhere, nil, "", nil, time.Time{}, ""},
		{"not for this host, kept while pruning is suspended", new(rejectedFor(ReasonNotForThisHost)), false, []driver.Container{cur}, restartView{}, "",
			StateOrphaned, nil, cur.ID, nil, time.Time{}, driver.Process},
		{"not for this host, being removed", new(rejectedFor(ReasonNotForThisHost)), true, []driver.Container{cur}, restartView{}, "",
			StateRemoving, nil, cur.ID, nil, time.Time{}, driver.Process},
		{"no spec, pruning", nil, true, []driver.Container{cur}, restartView{}, "", StateRemoving, nil, cur.ID, nil, time.Time{}, driver.Process},
		{"no spec, pruning suspended", nil, false, []driver.Container{cur}, restartView{}, "", StateOrphaned, nil, cur.ID, nil, time.Time{}, driver.Process},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := &desiredState{snap: snapshot(web), decisions: map[string]*Decision{}, prune: tt.prune, pruneOK: map[string]bool{"web": tt.prune}}
			if tt.decision != nil {
				ds.decisions["web"] = tt.decision
			}
			in := statusInput{desired: ds, now: now,
				cache:    map[string][]driver.Container{},
				restarts: map[string]restartView{"web": tt.restarts},
				tracker:  trackerView{lastErr: map[string]string{"web": tt.lastErr}}}
			if tt.actual != nil {
				in.cache["web"] = tt.actual
			}
			st := buildStatus(in)
			if len(st.Containers) != 1 {
				t.Fatalf("containers %+v, want web alone", st.Containers)
			}
			c := st.Containers[0]
			var conds []ConditionType
			for _, cd := range c.Conditions {
				conds = append(conds, cd.Type)
			}
			if c.State != tt.state || !slices.Equal(conds, tt.conds) || c.ContainerID != tt.id || c.EffectiveIsolation != tt.effective {
				t.Errorf("state %s, conditions %v, container %q, isolation %q; want %s, %v, %q, %q",
					c.State, conds, c.ContainerID, c.EffectiveIsolation, tt.state, tt.conds, tt.id, tt.effective)
			}
			if (c.ExitCode == nil) != (tt.exitCode == nil) || c.ExitCode != nil && *c.ExitCode != *tt.exitCode || !c.Since.Equal(tt.since) {
				t.Errorf("exit code %v since %v, want %v since %v", c.ExitCode, c.Since, tt.exitCode, tt.since)
			}
			if c.RestartCount != tt.restarts.count || c.LastError != tt.lastErr {
				t.Errorf("restarts %d, last error %q; want %d, %q", c.RestartCount, c.LastError, tt.restarts.count, tt.lastErr)
			}
			if !slices.Contains(States(), c.State) {
				t.Errorf("state %q is not one of States()", c.State)
			}
			if tt.decision != nil && (c.RequestedIsolation != "default" || c.Image != img2022 || c.Source != web.Source) {
				t.Errorf("the spec's side: %q %q %+v", c.RequestedIsolation, c.Image, c.Source)
			}
			if c.InitPID != 0 && c.InitPID != cur.InitPID {
				t.Errorf("init PID %d", c.InitPID)
			}
			// The restart due is told while it is held back, and only then.
			if want := tt.restarts.waiting; slices.Contains(tt.conds, CondCrashLoop) != !c.NextRestart.IsZero() || !c.NextRestart.IsZero() && !c.NextRestart.Equal(want) {
				t.Errorf("next restart %v, want %v while held back", c.NextRestart, want)
			}
		})
	}
}

// The folder-wide part of status: the snapshot in force, invalid files
// and the names they hold, conflicts, engine conditions, and every name
// with a spec or a container, sorted.
func TestBuildStatusOfTheFolder(t *testing.T) {
	a, b := ctr("a", img2022), ctr("b", img2022)
	snap := snapshot(a, b)
	snap.Revision, snap.Dir = "9f1c2e7", "specs"
	snap.Files[0].Err, snap.Files[0].Stale = errors.New("a.yaml:3:1: spec.image: required"), true
	loser := spec.Source{File: "z.yaml", Line: 4}
	snap.Conflicts = []spec.Conflict{{Name: "b", Loser: loser, Winner: b.Source}}
	ds := admitted(t, a, b)
	in := statusInput{
		host:    server(20348),
		tracker: trackerView{ready: true, converged: false, lastOK: time.Unix(1700000000, 0)},
		conds:   []Condition{{Type: CondDriverUnavailable, Message: "down"}},
		desired: &desiredState{snap: snap, decisions: map[string]*Decision{"a": &ds[0], "b": &ds[1]}, prune: true, pruneOK: map[string]bool{"orphan": true}},
		cache:   map[string][]driver.Container{"orphan": {{ID: "orphan-1", Name: "orphan", State: driver.StateExited}}},
	}
	st := buildStatus(in)
	if st.Dir != "specs" || st.Revision != "9f1c2e7" || !st.Ready || st.Converged || st.Host.OSVersion.Build != 20348 || !st.LastReconcile.Equal(in.tracker.lastOK) {
		t.Errorf("status %+v", st)
	}
	var names []string
	for _, c := range st.Containers {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "orphan"}) {
		t.Errorf("containers %v", names)
	}
	if len(st.Files) != 1 || st.Files[0].Path != "a.yaml" || !st.Files[0].Stale || st.Files[0].Errors[0] != "a.yaml:3:1: spec.image: required" {
		t.Errorf("invalid files %+v", st.Files)
	}
	if c := st.Containers[0]; len(c.Conditions) != 1 || c.Conditions[0].Type != CondInvalid {
		t.Errorf("a, of a stale file: %+v", c.Conditions)
	}
	if c := st.Containers[1]; len(c.Conditions) != 1 || c.Conditions[0].Type != CondConflict {
		t.Errorf("b, which won a conflict: %+v", c.Conditions)
	}
	if len(st.Conditions) != 1 || st.Conditions[0].Type != CondDriverUnavailable || len(st.Conflicts) != 1 {
		t.Errorf("conditions %+v, conflicts %+v", st.Conditions, st.Conflicts)
	}

	if empty := buildStatus(statusInput{}); empty.Containers == nil || len(empty.Containers) != 0 || empty.Revision != "" {
		t.Errorf("before anything is known: %+v; want an empty, non-nil container list", empty)
	}
}

// Status names the credential spec a spec runs with, and shows nothing of
// its content, which the spec does not hold anyway.
func TestStatusShowsTheCredentialSpec(t *testing.T) {
	web := ctr("web", img2022, func(s *spec.Spec) { s.CredentialSpec = "webapp01.json" })
	d := Admit(t.Context(), server(20348), nil, []*spec.Container{web}, AdmitOptions{Owner: "isoagent", Policy: checker(t, "")})[0]
	ds := &desiredState{snap: snapshot(web), decisions: map[string]*Decision{"web": &d}}
	st := buildStatus(statusInput{desired: ds, now: time.Now(), cache: map[string][]driver.Container{}, restarts: map[string]restartView{}, tracker: trackerView{lastErr: map[string]string{}}})
	if len(st.Containers) != 1 || st.Containers[0].CredentialSpec != "webapp01.json" {
		t.Errorf("status %+v, want web with its credential spec webapp01.json", st.Containers)
	}
	if st.Containers[0].Rejection == nil || st.Containers[0].Rejection.Field != "spec.credentialSpec" {
		t.Errorf("rejection %+v, want the policy's, at spec.credentialSpec (no policy lists it)", st.Containers[0].Rejection)
	}
}
