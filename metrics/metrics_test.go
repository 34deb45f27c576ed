package metrics

import (
	"bytes"
	"flag"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/isoagent/isoagent/driver"
	isotest "github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/registry"
	"github.com/isoagent/isoagent/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testBuild = BuildInfo{Version: "v1.2.3", GoVersion: "go1.26.8"}

// newTest returns Metrics on a fresh registry of their own.
func newTest(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return New(reg, testBuild), reg
}

func TestNewPreinitialisesEveryFixedSeriesAtZero(t *testing.T) {
	_, reg := newTest(t)
	tests := []struct {
		metric string
		want   int // series
	}{
		{"isoagent_reconcile_total", 3},
		{"isoagent_reconcile_duration_seconds", 3},
		{"isoagent_actions_total", 8},
		{"isoagent_driver_operation_duration_seconds", 7},
		{"isoagent_admission_rejections_total", len(reconcile.RefusalReasons())},
		{"isoagent_revision_refusals_total", 3},
		{"isoagent_prune_pending_containers", 1},
		{"isoagent_prune_budget_containers", 1},
		{"isoagent_revision_refused", 1},
		{"isoagent_spec_files", 2},
		{"isoagent_watch_events_total", 3},
		{"isoagent_rescans_total", 3},
		{"isoagent_convergence_seconds", 1},
		{"isoagent_last_successful_reconcile_timestamp_seconds", 1},
		{"isoagent_policy_valid", 1},
		{"isoagent_registries_valid", 1},
		{"isoagent_containers_desired", 2},
		{"isoagent_containers_running", 2},
		{"isoagent_containers", len(reconcile.States())},
		{"isoagent_condition", len(reconcile.EngineConditionTypes())},
		{"isoagent_container_conditions", len(reconcile.ContainerConditionTypes())},
		{"isoagent_build_info", 1},
		{"isoagent_image_pull_bytes_total", 1},
		{"isoagent_image_pull_duration_seconds", 2},
		{"isoagent_image_pull_failures_total", len(registry.Reasons())},
		{"isoagent_image_pulls_in_progress", 1},
		{"isoagent_image_gc_freed_bytes_total", 1},
		{"isoagent_image_gc_removed_total", 1},
		// Not known until the agent says: no series rather than a made-up one.
		{"isoagent_host_info", 0},
		{"isoagent_config_revision_info", 0},
		{"isoagent_container_info", 0},
		{"isoagent_container_restarts_total", 0},
		{"isoagent_revision_refused_info", 0},
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			n, err := testutil.GatherAndCount(reg, tt.metric)
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.want {
				t.Errorf("%d series, want %d", n, tt.want)
			}
		})
	}
	// Pre-initialised means zero, not merely present.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if n := mf.GetName(); n == "isoagent_build_info" || n == "isoagent_policy_valid" || n == "isoagent_registries_valid" {
			continue // always 1 / valid until told otherwise
		}
		for _, m := range mf.GetMetric() {
			if v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount()); v != 0 {
				t.Errorf("%s%v = %v, want 0", mf.GetName(), m.GetLabel(), v)
			}
		}
	}
}

// TestSeriesFollowTheOwnersLists pins that the pre-initialised series are
// exactly the values the owning packages list, so a value added there gets
// its series here without a second list to keep in step.
func TestSeriesFollowTheOwnersLists(t *testing.T) {
	_, reg := newTest(t)
	tests := []struct {
		metric, label string
		want          []string
	}{
		{"isoagent_reconcile_total", "result", values(reconcile.Outcomes())},
		{"isoagent_reconcile_duration_seconds", "result", values(reconcile.Outcomes())},
		{"isoagent_actions_total", "action", values(reconcile.StepKinds())},
		{"isoagent_driver_operation_duration_seconds", "operation", values(driver.Ops())},
		{"isoagent_admission_rejections_total", "reason", values(reconcile.RefusalReasons())},
		{"isoagent_watch_events_total", "trigger", values(spec.Triggers())},
		{"isoagent_rescans_total", "trigger", values(spec.Triggers())},
		{"isoagent_containers", "state", values(reconcile.States())},
		{"isoagent_condition", "kind", values(reconcile.EngineConditionTypes())},
		{"isoagent_container_conditions", "kind", values(reconcile.ContainerConditionTypes())},
		{"isoagent_containers_desired", "isolation", values(driver.Isolations())},
		{"isoagent_containers_running", "isolation", values(driver.Isolations())},
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			got := map[string]bool{}
			for _, mf := range mfs {
				if mf.GetName() != tt.metric {
					continue
				}
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == tt.label {
							got[l.GetValue()] = true
						}
					}
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("label %s has values %v, want %v", tt.label, got, tt.want)
			}
			for _, v := range tt.want {
				if !got[v] {
					t.Errorf("no series with %s=%q", tt.label, v)
				}
			}
		})
	}
}

func TestMethodsCountUnderTheirLabels(t *testing.T) {
	tests := []struct {
		name   string
		do     func(m *Metrics)
		metric func(m *Metrics) prometheus.Collector
		want   float64
	}{
		{"reconcile success",
			func(m *Metrics) { m.ObserveReconcile(reconcile.OutcomeSuccess, time.Millisecond) },
			func(m *Metrics) prometheus.Collector { return m.reconciles.WithLabelValues("success") }, 1},
		{"reconcile requeue twice",
			func(m *Metrics) {
				m.ObserveReconcile(reconcile.OutcomeRequeue, 0)
				m.ObserveReconcile(reconcile.OutcomeRequeue, 0)
			},
			func(m *Metrics) prometheus.Collector { return m.reconciles.WithLabelValues("requeue") }, 2},
		{"reconcile with an unknown result counts as other",
			func(m *Metrics) { m.ObserveReconcile("done", 0) },
			func(m *Metrics) prometheus.Collector { return m.reconciles.WithLabelValues(Other) }, 1},
		{"action",
			func(m *Metrics) { m.IncAction(reconcile.ActionCreate, reconcile.OutcomeError) },
			func(m *Metrics) prometheus.Collector { return m.actions.WithLabelValues("create", "error") }, 1},
		{"action with an unknown kind counts as other",
			func(m *Metrics) { m.IncAction("recreate", reconcile.OutcomeSuccess) },
			func(m *Metrics) prometheus.Collector { return m.actions.WithLabelValues(Other, "success") }, 1},
		{"requeue is not an action result",
			func(m *Metrics) { m.IncAction(reconcile.ActionStart, reconcile.OutcomeRequeue) },
			func(m *Metrics) prometheus.Collector { return m.actions.WithLabelValues("start", Other) }, 1},
		{"rejection",
			func(m *Metrics) { m.IncRejection(reconcile.ReasonVersionMismatch) },
			func(m *Metrics) prometheus.Collector {
				return m.rejections.WithLabelValues("version-mismatch")
			}, 1},
		{"a spec meant for other hosts is no rejection",
			func(m *Metrics) { m.IncRejection(reconcile.ReasonNotForThisHost) },
			func(m *Metrics) prometheus.Collector { return m.rejections.WithLabelValues(Other) }, 0},
		{"watch event",
			func(m *Metrics) { m.IncWatchEvent(spec.TriggerOverflow) },
			func(m *Metrics) prometheus.Collector { return m.watchEvents.WithLabelValues("overflow") }, 1},
		{"rescan",
			func(m *Metrics) { m.IncRescan(spec.TriggerResync) },
			func(m *Metrics) prometheus.Collector { return m.rescans.WithLabelValues("resync") }, 1},
		{"spec files valid",
			func(m *Metrics) { m.SetSpecFiles(4, 1) },
			func(m *Metrics) prometheus.Collector { return m.specFiles.WithLabelValues("valid") }, 4},
		{"spec files invalid",
			func(m *Metrics) { m.SetSpecFiles(4, 1) },
			func(m *Metrics) prometheus.Collector { return m.specFiles.WithLabelValues("invalid") }, 1},
		{"spec files set twice keeps the last",
			func(m *Metrics) { m.SetSpecFiles(4, 1); m.SetSpecFiles(5, 0) },
			func(m *Metrics) prometheus.Collector { return m.specFiles.WithLabelValues("invalid") }, 0},
		{"last successful reconcile",
			func(m *Metrics) { m.SetLastSuccessfulReconcile(time.Unix(1700000000, 500_000_000)) },
			func(m *Metrics) prometheus.Collector { return m.lastSuccess }, 1700000000.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTest(t)
			tt.do(m)
			if got := testutil.ToFloat64(tt.metric(m)); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHistogramsObserveSeconds(t *testing.T) {
	m, reg := newTest(t)
	m.ObserveReconcile(reconcile.OutcomeSuccess, 30*time.Millisecond)
	m.ObserveReconcile(reconcile.OutcomeError, 2*time.Second)
	m.ObserveDriverOp(driver.OpCreate, 3*time.Second)
	m.ObserveDriverOp("pull", time.Second)
	m.ObserveConvergence(90 * time.Second)

	want := `
# HELP isoagent_convergence_seconds Time from a change of the spec folder being seen (or the agent starting) to the host matching it, per change.
# TYPE isoagent_convergence_seconds histogram
isoagent_convergence_seconds_bucket{le="0.05"} 0
isoagent_convergence_seconds_bucket{le="0.1"} 0
isoagent_convergence_seconds_bucket{le="0.25"} 0
isoagent_convergence_seconds_bucket{le="0.5"} 0
isoagent_convergence_seconds_bucket{le="1"} 0
isoagent_convergence_seconds_bucket{le="2.5"} 0
isoagent_convergence_seconds_bucket{le="5"} 0
isoagent_convergence_seconds_bucket{le="10"} 0
isoagent_convergence_seconds_bucket{le="30"} 0
isoagent_convergence_seconds_bucket{le="60"} 0
isoagent_convergence_seconds_bucket{le="120"} 1
isoagent_convergence_seconds_bucket{le="300"} 1
isoagent_convergence_seconds_bucket{le="600"} 1
isoagent_convergence_seconds_bucket{le="+Inf"} 1
isoagent_convergence_seconds_sum 90
isoagent_convergence_seconds_count 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isoagent_convergence_seconds"); err != nil {
		t.Error(err)
	}

	tests := []struct {
		vec          *prometheus.HistogramVec
		label        string
		count        uint64
		sum          float64
		upperBoundLE float64 // smallest bucket holding the observation
	}{
		{m.reconcileDuration, "success", 1, 0.03, 0.05},
		{m.reconcileDuration, "error", 1, 2, 2.5},
		{m.reconcileDuration, "requeue", 0, 0, 0},
		{m.driverOps, "create", 1, 3, 5},
		{m.driverOps, Other, 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			h := histogramOf(t, tt.vec, tt.label)
			if h.GetSampleCount() != tt.count || h.GetSampleSum() != tt.sum {
				t.Fatalf("count %d sum %v, want %d and %v", h.GetSampleCount(), h.GetSampleSum(), tt.count, tt.sum)
			}
			for _, b := range h.GetBucket() {
				wantIn := uint64(0)
				if tt.count > 0 && b.GetUpperBound() >= tt.upperBoundLE {
					wantIn = 1
				}
				if b.GetCumulativeCount() != wantIn {
					t.Errorf("bucket le=%v holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), wantIn)
				}
			}
		})
	}
}

func TestInfoMetricsKeepOneSeries(t *testing.T) {
	m, reg := newTest(t)
	m.SetHostInfo(driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: 17763}, SKU: driver.SKUClient, Driver: driver.NameSim})
	m.SetHostInfo(driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: 20348, Revision: 587}, SKU: driver.SKUServer, Driver: driver.NameHCS})
	m.SetConfigRevision("0123abc")
	m.SetConfigRevision("4567def")

	want := `
# HELP isoagent_build_info The agent's version and the Go version it was built with. Always 1.
# TYPE isoagent_build_info gauge
isoagent_build_info{goversion="go1.26.8",version="v1.2.3"} 1
# HELP isoagent_config_revision_info The git revision of the spec folder's content the agent works from, when it can be told. Always 1.
# TYPE isoagent_config_revision_info gauge
isoagent_config_revision_info{revision="4567def"} 1
# HELP isoagent_host_info The container host: Windows version, build, SKU (server, client) and driver (sim, hcs). Always 1.
# TYPE isoagent_host_info gauge
isoagent_host_info{build="20348",driver="hcs",os_version="10.0.20348.587",sku="server"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"isoagent_build_info", "isoagent_config_revision_info", "isoagent_host_info"); err != nil {
		t.Error(err)
	}

	m.SetConfigRevision("")
	if n, err := testutil.GatherAndCount(reg, "isoagent_config_revision_info"); err != nil || n != 0 {
		t.Errorf("after an unknown revision: %d series (err %v), want none", n, err)
	}
}

func TestHostInfoOutsideTheFixedSetsIsOther(t *testing.T) {
	m, reg := newTest(t)
	m.SetHostInfo(driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: 20348}, SKU: "datacenter", Driver: "docker"})
	want := `
# HELP isoagent_host_info The container host: Windows version, build, SKU (server, client) and driver (sim, hcs). Always 1.
# TYPE isoagent_host_info gauge
isoagent_host_info{build="20348",driver="other",os_version="10.0.20348",sku="other"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isoagent_host_info"); err != nil {
		t.Error(err)
	}
}

func TestBuildInfoDefaultsToTheRunningGoVersion(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg, BuildInfo{Version: "dev"})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "isoagent_build_info" {
			continue
		}
		for _, l := range mf.GetMetric()[0].GetLabel() {
			if l.GetName() == "goversion" && !strings.HasPrefix(l.GetValue(), "go") {
				t.Errorf("goversion = %q", l.GetValue())
			}
		}
		return
	}
	t.Error("no isoagent_build_info")
}

func TestNewPanicsWhenRegisteredTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg, testBuild)
	defer func() {
		if recover() == nil {
			t.Error("second New on the same registry did not panic")
		}
	}()
	New(reg, testBuild)
}

func TestRegistryPassesLint(t *testing.T) {
	reg := NewRegistry()
	m := New(reg, testBuild)
	drive(m)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	// The Go and process collectors are there.
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 1 {
			t.Errorf("%s: %d series (err %v), want 1", name, n, err)
		}
	}
}

func TestExpositionPassesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus); CI installs it")
	}
	reg := NewRegistry()
	drive(New(reg, testBuild))
	var buf bytes.Buffer
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestExpositionGolden pins the exposition of every isoagent metric after
// a fixed sequence of calls; docs/metrics.md describes the same.
// Run with -update after a deliberate change.
func TestExpositionGolden(t *testing.T) {
	m, reg := newTest(t)
	drive(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	golden := filepath.Join("testdata", "exposition.golden.prom")
	want := isotest.ReadGolden(t, golden, buf.Bytes(), *update)
	// Comparing as exposition rather than bytes gives a readable diff.
	if err := testutil.GatherAndCompare(reg, bytes.NewReader(want)); err != nil {
		t.Errorf("exposition differs from %s (run go test -update after a deliberate change):\n%v", golden, err)
	}
}

// drive exercises every method once or more, so every metric has data.
func drive(m *Metrics) {
	m.SetHostInfo(driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: 20348, Revision: 587}, SKU: driver.SKUServer, Driver: driver.NameSim})
	m.SetConfigRevision("9f1c2e7")
	m.SetSpecFiles(3, 1)
	m.IncWatchEvent(spec.TriggerEvent)
	m.IncWatchEvent(spec.TriggerEvent)
	m.IncRescan(spec.TriggerEvent)
	m.IncRescan(spec.TriggerResync)
	m.IncRejection(reconcile.ReasonVersionMismatch)
	m.ObserveReconcile(reconcile.OutcomeSuccess, 12*time.Millisecond)
	m.ObserveReconcile(reconcile.OutcomeSuccess, 40*time.Millisecond)
	m.ObserveReconcile(reconcile.OutcomeError, 300*time.Millisecond)
	m.ObserveReconcile(reconcile.OutcomeRequeue, time.Millisecond)
	m.IncAction(reconcile.ActionCreate, reconcile.OutcomeSuccess)
	m.IncAction(reconcile.ActionStart, reconcile.OutcomeSuccess)
	m.IncAction(reconcile.ActionStart, reconcile.OutcomeError)
	m.ObserveDriverOp(driver.OpList, 2*time.Millisecond)
	m.ObserveDriverOp(driver.OpCreate, 700*time.Millisecond)
	m.ObserveDriverOp(driver.OpStart, 1500*time.Millisecond)
	m.IncRestart("worker")
	m.ObserveConvergence(2 * time.Second)
	m.SetLastSuccessfulReconcile(time.Unix(1767225600, 0))
	m.SetContainerSource(func() []ContainerInfo {
		return []ContainerInfo{
			{Name: "web", ID: "3f6c1d0e9a7b", Isolation: string(driver.Process), Image: "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022", State: reconcile.StateRunning, Desired: true, Running: true},
			{Name: "worker", ID: "8b2e4a61c5d7", Isolation: string(driver.HyperV), Image: "example.com/worker:ltsc2022", State: reconcile.StateExited, Desired: true},
			{Name: "legacy", Isolation: string(driver.Process), Image: "example.com/legacy:ltsc2019", State: reconcile.StateRejected},
		}
	})
	m.SetStatsSource(func() []ContainerStats {
		return []ContainerStats{{Name: "web", Stats: testStats}}
	})
	m.SetLogBytesSource(func() []ContainerLogBytes {
		return []ContainerLogBytes{{Name: "web", Bytes: 48213}, {Name: "worker", Bytes: 1290}}
	})
}

// testStats is a running container with limits and one network endpoint.
var testStats = driver.Stats{
	ID:      "3f6c1d0e9a7b",
	Time:    time.Unix(1767225600, 0),
	CPU:     driver.CPUStats{Total: 150 * time.Second, User: 120 * time.Second, Kernel: 30 * time.Second},
	Memory:  driver.MemoryStats{CommitBytes: 165150720, CommitPeakBytes: 177733632, PrivateWorkingSetBytes: 132120576},
	Storage: driver.StorageStats{ReadCount: 1260, ReadBytes: 82575360, WriteCount: 900, WriteBytes: 58982400},
	Network: []driver.NetworkStats{{Endpoint: "9e1f3b2a-77c4-4d0e-b1a5-0c2d9f8e6a41", ReceiveBytes: 29491200, TransmitBytes: 98304000, ReceivePackets: 32768, TransmitPackets: 109226, ReceiveDrops: 3}},
	Limits:  driver.Resources{CPUCount: 2, CPUMaximumPercent: 50, MemoryMB: 512},
}

func TestMethodsAreSafeForConcurrentUse(t *testing.T) {
	m, reg := newTest(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 100 {
				drive(m)
				m.SetConfigRevision(string(rune('a' + (i+j)%26)))
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if got := testutil.ToFloat64(m.reconciles.WithLabelValues(string(reconcile.OutcomeSuccess))); got != 4*100*2 {
		t.Errorf("success reconciles = %v, want %d", got, 4*100*2)
	}
}

func histogramOf(t *testing.T, vec *prometheus.HistogramVec, label string) *dto.Histogram {
	t.Helper()
	var out dto.Metric
	if err := vec.WithLabelValues(label).(prometheus.Metric).Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetHistogram()
}

func TestPolicyValidFollowsTheFile(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, BuildInfo{Version: "test"})
	for _, tt := range []struct {
		valid bool
		want  float64
	}{{true, 1}, {false, 0}, {true, 1}} {
		m.SetPolicyValid(tt.valid)
		if got := testutil.ToFloat64(m.policyValid); got != tt.want {
			t.Errorf("SetPolicyValid(%v): gauge %v, want %v", tt.valid, got, tt.want)
		}
	}
}
