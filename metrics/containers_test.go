package metrics

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/isoagent/isoagent/reconcile"
)

var containerMetrics = []string{
	"isoagent_containers_desired", "isoagent_containers_running",
	"isoagent_containers", "isoagent_container_info", "isoagent_container_restarts_total",
}

const containerHelp = `
# HELP isoagent_container_info One series per container the agent knows of, naming its container ID on the host (empty when there is none), isolation, image and state. Always 1.
# TYPE isoagent_container_info gauge
# HELP isoagent_container_restarts_total Restarts of a container by its restart policy since the agent started.
# TYPE isoagent_container_restarts_total counter
# HELP isoagent_containers Containers the agent knows of, declared in the spec folder or owned on the host without a spec, by state.
# TYPE isoagent_containers gauge
# HELP isoagent_containers_desired Containers the agent wants running, by effective isolation.
# TYPE isoagent_containers_desired gauge
# HELP isoagent_containers_running Containers the host runs, by effective isolation.
# TYPE isoagent_containers_running gauge
`

// stateLines returns the isoagent_containers lines with the given non-zero
// counts and every other state at zero.
func stateLines(counts map[reconcile.State]int) string {
	var b strings.Builder
	for _, s := range append(reconcile.States(), Other) {
		n, ok := counts[s]
		if !ok && s == Other {
			continue
		}
		b.WriteString("isoagent_containers{state=\"" + string(s) + "\"} " + strconv.Itoa(n) + "\n")
	}
	return b.String()
}

func TestContainerMetricsComeFromOneSnapshot(t *testing.T) {
	tests := []struct {
		name     string
		snapshot []ContainerInfo
		restarts []string
		want     string
	}{
		{
			name: "no source yet: zero counts, no per-container series",
			want: `
isoagent_containers_desired{isolation="hyperv"} 0
isoagent_containers_desired{isolation="process"} 0
isoagent_containers_running{isolation="hyperv"} 0
isoagent_containers_running{isolation="process"} 0
` + stateLines(nil),
		},
		{
			name: "desired and running by isolation",
			snapshot: []ContainerInfo{
				{Name: "web", ID: "web-1a2b", Isolation: "process", Image: "iis:ltsc2022", State: reconcile.StateRunning, Desired: true, Running: true},
				{Name: "api", Isolation: "process", Image: "api:ltsc2022", State: reconcile.StatePending, Desired: true},
				{Name: "vm", Isolation: "hyperv", Image: "app:ltsc2019", State: reconcile.StateRunning, Desired: true, Running: true},
				{Name: "batch", Isolation: "hyperv", Image: "job:ltsc2022", State: reconcile.StateExited},
			},
			restarts: []string{"web", "web"},
			want: `
isoagent_containers_desired{isolation="hyperv"} 1
isoagent_containers_desired{isolation="process"} 2
isoagent_containers_running{isolation="hyperv"} 1
isoagent_containers_running{isolation="process"} 1
isoagent_container_info{container_id="web-1a2b",image="iis:ltsc2022",isolation="process",name="web",state="running"} 1
isoagent_container_info{container_id="",image="api:ltsc2022",isolation="process",name="api",state="pending"} 1
isoagent_container_info{container_id="",image="app:ltsc2019",isolation="hyperv",name="vm",state="running"} 1
isoagent_container_info{container_id="",image="job:ltsc2022",isolation="hyperv",name="batch",state="exited"} 1
isoagent_container_restarts_total{name="api"} 0
isoagent_container_restarts_total{name="batch"} 0
isoagent_container_restarts_total{name="vm"} 0
isoagent_container_restarts_total{name="web"} 2
` + stateLines(map[reconcile.State]int{reconcile.StateRunning: 2, reconcile.StatePending: 1, reconcile.StateExited: 1}),
		},
		{
			name: "refused specs are counted by state, not as desired",
			snapshot: []ContainerInfo{
				{Name: "old", Isolation: "process", Image: "old:ltsc2019", State: reconcile.StateRejected},
				{Name: "bad", Isolation: "hyperv", Image: "", State: reconcile.StateInvalid},
			},
			want: `
isoagent_containers_desired{isolation="hyperv"} 0
isoagent_containers_desired{isolation="process"} 0
isoagent_containers_running{isolation="hyperv"} 0
isoagent_containers_running{isolation="process"} 0
isoagent_container_info{container_id="",image="old:ltsc2019",isolation="process",name="old",state="rejected"} 1
isoagent_container_info{container_id="",image="",isolation="hyperv",name="bad",state="invalid"} 1
isoagent_container_restarts_total{name="bad"} 0
isoagent_container_restarts_total{name="old"} 0
` + stateLines(map[reconcile.State]int{reconcile.StateRejected: 1, reconcile.StateInvalid: 1}),
		},
		{
			name: "a spec meant for other hosts is counted as elsewhere, with no series of its own",
			snapshot: []ContainerInfo{
				{Name: "gpu", Isolation: "process", Image: "render:ltsc2019", State: reconcile.StateElsewhere},
			},
			want: `
isoagent_containers_desired{isolation="hyperv"} 0
isoagent_containers_desired{isolation="process"} 0
isoagent_containers_running{isolation="hyperv"} 0
isoagent_containers_running{isolation="process"} 0
` + stateLines(map[reconcile.State]int{reconcile.StateElsewhere: 1}),
		},
		{
			name: "a conflicting spec shares its name with the winner",
			snapshot: []ContainerInfo{
				{Name: "web", Isolation: "process", Image: "iis:ltsc2022", State: reconcile.StateRunning, Desired: true, Running: true},
				{Name: "web", Isolation: "process", Image: "iis:ltsc2025", State: reconcile.StateConflict},
			},
			restarts: []string{"web"},
			want: `
isoagent_containers_desired{isolation="hyperv"} 0
isoagent_containers_desired{isolation="process"} 1
isoagent_containers_running{isolation="hyperv"} 0
isoagent_containers_running{isolation="process"} 1
isoagent_container_info{container_id="",image="iis:ltsc2022",isolation="process",name="web",state="running"} 1
isoagent_container_info{container_id="",image="iis:ltsc2025",isolation="process",name="web",state="conflict"} 1
isoagent_container_restarts_total{name="web"} 1
` + stateLines(map[reconcile.State]int{reconcile.StateRunning: 1, reconcile.StateConflict: 1}),
		},
		{
			name: "a refused spec that asked for the default isolation says so in its info",
			snapshot: []ContainerInfo{
				{Name: "legacy", Isolation: "default", Image: "old:ltsc2016", State: reconcile.StateRejected},
			},
			want: `
isoagent_containers_desired{isolation="hyperv"} 0
isoagent_containers_desired{isolation="process"} 0
isoagent_containers_running{isolation="hyperv"} 0
isoagent_containers_running{isolation="process"} 0
isoagent_container_info{container_id="",image="old:ltsc2016",isolation="default",name="legacy",state="rejected"} 1
isoagent_container_restarts_total{name="legacy"} 0
` + stateLines(map[reconcile.State]int{reconcile.StateRejected: 1}),
		},
		{
			name: "values outside the fixed sets are other",
			snapshot: []ContainerInfo{
				{Name: "odd", Isolation: "Hyper-V", Image: "x:1", State: "stopping", Desired: true, Running: true},
				{Name: "odd2", Isolation: "default", Image: "x:1", State: reconcile.StatePending, Desired: true},
			},
			want: `
isoagent_containers_desired{isolation="hyperv"} 0
isoagent_containers_desired{isolation="process"} 0
isoagent_containers_desired{isolation="other"} 2
isoagent_containers_running{isolation="hyperv"} 0
isoagent_containers_running{isolation="process"} 0
isoagent_containers_running{isolation="other"} 1
isoagent_container_info{container_id="",image="x:1",isolation="other",name="odd",state="other"} 1
isoagent_container_info{container_id="",image="x:1",isolation="default",name="odd2",state="pending"} 1
isoagent_container_restarts_total{name="odd"} 0
isoagent_container_restarts_total{name="odd2"} 0
` + stateLines(map[reconcile.State]int{Other: 1, reconcile.StatePending: 1}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg := newTest(t)
			if tt.snapshot != nil {
				m.SetContainerSource(func() []ContainerInfo { return tt.snapshot })
			}
			for _, name := range tt.restarts {
				m.IncRestart(name)
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(containerHelp+tt.want), containerMetrics...); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRemovedContainersLeaveNoSeries(t *testing.T) {
	m, reg := newTest(t)
	var mu sync.Mutex
	current := []ContainerInfo{
		{Name: "web", Isolation: "process", Image: "iis:ltsc2022", State: reconcile.StateRunning, Desired: true, Running: true},
		{Name: "old", Isolation: "hyperv", Image: "old:ltsc2019", State: reconcile.StateRunning, Desired: true, Running: true},
	}
	m.SetContainerSource(func() []ContainerInfo {
		mu.Lock()
		defer mu.Unlock()
		return current
	})
	m.IncRestart("old")
	if n, _ := testutil.GatherAndCount(reg, "isoagent_container_info"); n != 2 {
		t.Fatalf("before: %d info series, want 2", n)
	}

	mu.Lock()
	current = current[:1]
	mu.Unlock()
	want := `
isoagent_containers_desired{isolation="hyperv"} 0
isoagent_containers_desired{isolation="process"} 1
isoagent_containers_running{isolation="hyperv"} 0
isoagent_containers_running{isolation="process"} 1
isoagent_container_info{container_id="",image="iis:ltsc2022",isolation="process",name="web",state="running"} 1
isoagent_container_restarts_total{name="web"} 0
` + stateLines(map[reconcile.State]int{reconcile.StateRunning: 1})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(containerHelp+want), containerMetrics...); err != nil {
		t.Error(err)
	}
}

func TestRestartCountSurvivesAnAbsence(t *testing.T) {
	m, reg := newTest(t)
	var present bool
	var mu sync.Mutex
	m.SetContainerSource(func() []ContainerInfo {
		mu.Lock()
		defer mu.Unlock()
		if !present {
			return nil
		}
		return []ContainerInfo{{Name: "web", Isolation: "process", State: reconcile.StateRunning}}
	})
	m.IncRestart("web")
	m.IncRestart("web")
	if n, _ := testutil.GatherAndCount(reg, "isoagent_container_restarts_total"); n != 0 {
		t.Fatalf("absent container has %d restart series, want 0", n)
	}
	mu.Lock()
	present = true
	mu.Unlock()
	m.IncRestart("web")
	want := `
# HELP isoagent_container_restarts_total Restarts of a container by its restart policy since the agent started.
# TYPE isoagent_container_restarts_total counter
isoagent_container_restarts_total{name="web"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isoagent_container_restarts_total"); err != nil {
		t.Error(err)
	}
}

func TestSetContainerSourceReplacesTheEarlierOne(t *testing.T) {
	m, reg := newTest(t)
	m.SetContainerSource(func() []ContainerInfo {
		return []ContainerInfo{{Name: "a", Isolation: "process", State: reconcile.StateRunning}, {Name: "b", Isolation: "process", State: reconcile.StateRunning}}
	})
	m.SetContainerSource(func() []ContainerInfo {
		return []ContainerInfo{{Name: "c", Isolation: "hyperv", State: reconcile.StatePending}}
	})
	if n, _ := testutil.GatherAndCount(reg, "isoagent_container_info"); n != 1 {
		t.Errorf("%d info series, want 1 (from the second source)", n)
	}
}

// With a version, a scrape asks the source again only once the version
// moved; restarts counted in between still show.
func TestContainerVersionKeepsTheSeriesBuilt(t *testing.T) {
	m, reg := newTest(t)
	var mu sync.Mutex
	var asked, version uint64
	state := reconcile.StatePending
	m.SetContainerSource(func() []ContainerInfo {
		mu.Lock()
		defer mu.Unlock()
		asked++
		return []ContainerInfo{{Name: "web", Isolation: "process", Image: "iis:ltsc2022", State: state, Desired: true, Running: state == reconcile.StateRunning}}
	})
	m.SetContainerVersion(func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		return version
	})
	series := func(state reconcile.State, restarts int) string {
		return fmt.Sprintf(`
# HELP isoagent_container_info One series per container the agent knows of, naming its container ID on the host (empty when there is none), isolation, image and state. Always 1.
# TYPE isoagent_container_info gauge
isoagent_container_info{container_id="",image="iis:ltsc2022",isolation="process",name="web",state=%q} 1
# HELP isoagent_container_restarts_total Restarts of a container by its restart policy since the agent started.
# TYPE isoagent_container_restarts_total counter
isoagent_container_restarts_total{name="web"} %d
`, state, restarts)
	}
	steps := []struct {
		name     string
		change   func()
		want     string
		askedNow uint64
	}{
		{"first scrape", func() {}, series(reconcile.StatePending, 0), 1},
		{"nothing changed", func() {}, series(reconcile.StatePending, 0), 1},
		{"the state changed, the version not yet", func() { state = reconcile.StateRunning }, series(reconcile.StatePending, 0), 1},
		{"the version moved", func() { version++ }, series(reconcile.StateRunning, 0), 2},
		{"a restart", func() { m.IncRestart("web") }, series(reconcile.StateRunning, 1), 3},
	}
	for _, st := range steps {
		mu.Lock()
		st.change()
		mu.Unlock()
		if err := testutil.GatherAndCompare(reg, strings.NewReader(st.want), "isoagent_container_info", "isoagent_container_restarts_total"); err != nil {
			t.Errorf("%s: %v", st.name, err)
		}
		mu.Lock()
		if asked != st.askedNow {
			t.Errorf("%s: the source was asked %d times, want %d", st.name, asked, st.askedNow)
		}
		mu.Unlock()
	}
}

func TestExitsByReasonAndTheLastExitCode(t *testing.T) {
	m, reg := newTest(t)
	three := 3
	m.SetContainerSource(func() []ContainerInfo {
		return []ContainerInfo{
			{Name: "job", Isolation: "process", State: reconcile.StateExited, LastExitCode: &three},
			{Name: "web", Isolation: "process", State: reconcile.StateRunning},
		}
	})
	m.IncExit("job", reconcile.ExitFailed)
	m.IncExit("job", reconcile.ExitFailed)
	m.IncExit("web", reconcile.ExitStopped)
	want := `
# HELP isoagent_container_exits_total Exits of a container's init process since the agent started, by reason: completed (code 0), failed (another code), stopped (by the agent), unhealthy (stopped by the agent for failing its health check), unknown.
# TYPE isoagent_container_exits_total counter
isoagent_container_exits_total{name="job",reason="completed"} 0
isoagent_container_exits_total{name="job",reason="failed"} 2
isoagent_container_exits_total{name="job",reason="stopped"} 0
isoagent_container_exits_total{name="job",reason="unhealthy"} 0
isoagent_container_exits_total{name="job",reason="unknown"} 0
isoagent_container_exits_total{name="web",reason="completed"} 0
isoagent_container_exits_total{name="web",reason="failed"} 0
isoagent_container_exits_total{name="web",reason="stopped"} 1
isoagent_container_exits_total{name="web",reason="unhealthy"} 0
isoagent_container_exits_total{name="web",reason="unknown"} 0
# HELP isoagent_container_last_exit_code The exit code of a container's last run, for containers that have ended one.
# TYPE isoagent_container_last_exit_code gauge
isoagent_container_last_exit_code{name="job"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isoagent_container_exits_total", "isoagent_container_last_exit_code"); err != nil {
		t.Error(err)
	}
}
