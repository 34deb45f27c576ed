package agent

// These tests run the real reconcile engine against the simulated host
// through the agent's adapter to the metrics (observer, containerInfos)
// and check what the metrics say about it.

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

func testContainer(name, image string, iso spec.Isolation) *spec.Container {
	c := &spec.Container{
		APIVersion: spec.APIVersion, Kind: spec.KindContainer,
		Metadata: spec.Metadata{Name: name},
		Spec:     spec.Spec{Image: imageref.MustParse(image), Isolation: iso},
		Source:   spec.Source{File: name + ".yaml", Line: 1, Column: 1},
	}
	spec.ApplyDefaults(c)
	return c
}

func TestMetricsOfARealEngineRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv, err := sim.Open("", sim.Options{Host: driver.Host{Name: "WEB-01"}})
		if err != nil {
			t.Fatal(err)
		}
		snap := &spec.Snapshot{Dir: "specs", Revision: "9f1c2e7", LoadedAt: time.Now()}
		for _, c := range []*spec.Container{
			testContainer("web", "mcr.microsoft.com/windows/servercore:ltsc2022", spec.IsolationProcess),
			testContainer("api", "mcr.microsoft.com/windows/nanoserver:ltsc2022", spec.IsolationHyperV),
			testContainer("legacy", "mcr.microsoft.com/windows/servercore:ltsc2019", spec.IsolationProcess),
		} {
			snap.Specs = append(snap.Specs, c)
			snap.Files = append(snap.Files, spec.File{Path: c.Source.File, Names: []string{c.Name()}})
		}

		reg := metrics.NewRegistry()
		m := metrics.New(reg, metrics.BuildInfo{Version: "test"})
		eng := reconcile.NewEngine(reconcile.EngineOptions{
			Driver:   drv,
			Workers:  2,
			Observer: observer{m},
			Logger:   slog.New(slog.DiscardHandler),
		})
		eng.Update(snap)
		m.SetContainerSource(func() []metrics.ContainerInfo { return containerInfos(eng.Status()) })
		h := metrics.Handler(metrics.Endpoints{
			Gatherer: reg,
			Ready: func(context.Context) error {
				if !eng.Ready() {
					return errors.New("first full reconcile not done")
				}
				return nil
			},
			Status: func(context.Context) (any, error) { return eng.Status(), nil },
		})

		if code := serve(h, "/readyz").Code; code != http.StatusServiceUnavailable {
			t.Errorf("readyz before the engine ran: %d, want 503", code)
		}

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- eng.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		waitCtx, waitCancel := context.WithTimeout(ctx, 10*time.Minute) // fake time in the bubble
		defer waitCancel()
		if err := eng.WaitConverged(waitCtx); err != nil {
			t.Fatalf("not converged in 10 minutes: %v; status %+v", err, eng.Status())
		}
		st := eng.Status()
		m.SetHostInfo(st.Host)
		m.SetConfigRevision(st.Revision)
		m.SetSpecFiles(len(snap.Files), 0)

		checks := []struct {
			metric string
			labels string // substring of the exposition line
			want   string
		}{
			{"isoagent_containers_desired", `isolation="process"`, "1"},
			{"isoagent_containers_desired", `isolation="hyperv"`, "1"},
			{"isoagent_containers_running", `isolation="process"`, "1"},
			{"isoagent_containers_running", `isolation="hyperv"`, "1"},
			{"isoagent_containers", `state="running"`, "2"},
			{"isoagent_containers", `state="rejected"`, "1"},
			{"isoagent_admission_rejections_total", `reason="version-mismatch"`, "1"},
			{"isoagent_actions_total", `action="create",result="success"`, "2"},
			{"isoagent_actions_total", `action="start",result="success"`, "2"},
			{"isoagent_actions_total", `action="create",result="error"`, "0"},
			{"isoagent_driver_operation_duration_seconds_count", `operation="create"`, "2"},
			{"isoagent_container_info", `image="mcr.microsoft.com/windows/servercore:ltsc2019",isolation="process",name="legacy",state="rejected"`, "1"},
			{"isoagent_container_info", `isolation="hyperv",name="api",state="running"`, "1"},
			{"isoagent_container_restarts_total", `name="web"`, "0"},
			{"isoagent_host_info", `build="20348",driver="sim",os_version="10.0.20348",sku="server"`, "1"},
			{"isoagent_config_revision_info", `revision="9f1c2e7"`, "1"},
		}
		body := serve(h, "/metrics").Body.String()
		for _, c := range checks {
			if !hasSample(body, c.metric, c.labels, c.want) {
				t.Errorf("no sample %s{...%s...} %s in /metrics", c.metric, c.labels, c.want)
			}
		}
		if n := testutil.CollectAndCount(reg, "isoagent_convergence_seconds"); n != 1 {
			t.Errorf("convergence histogram: %d series", n)
		}
		if !hasPositive(body, "isoagent_convergence_seconds_count") {
			t.Error("no convergence observed")
		}
		if !hasPositive(body, `isoagent_reconcile_total{result="success"}`) {
			t.Error("no successful reconcile counted")
		}
		if !hasPositive(body, "isoagent_last_successful_reconcile_timestamp_seconds") {
			t.Error("last successful reconcile not set")
		}
		if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) != 0 {
			t.Errorf("lint: %v %v", problems, err)
		}
		if code := serve(h, "/readyz").Code; code != http.StatusOK {
			t.Errorf("readyz after converging: %d, want 200", code)
		}
		if rec := serve(h, "/status"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"name": "legacy"`) {
			t.Errorf("status: %d\n%s", rec.Code, rec.Body)
		}
	})
}

func serve(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// hasSample reports whether the exposition has a sample of metric whose
// labels contain labels and whose value is want.
func hasSample(body, metric, labels, want string) bool {
	for _, line := range strings.Split(body, "\n") {
		name, rest, ok := strings.Cut(line, "{")
		if !ok || name != metric {
			continue
		}
		lbls, value, ok := strings.Cut(rest, "} ")
		if ok && strings.Contains(lbls, labels) && value == want {
			return true
		}
	}
	return false
}

// hasPositive reports whether the exposition line starting with prefix
// (a metric name, with labels if any) has a value above zero.
func hasPositive(body, prefix string) bool {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, prefix+" "); ok {
			return v != "0"
		}
	}
	return false
}
