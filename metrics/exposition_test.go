package metrics

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/isoagent/isoagent/health"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// With the per-container series kept encoded, /metrics serves every
// family once, in the text format, gzipped or not, and a change of the
// version shows at the next scrape.
func TestMetricsWithContainerSeriesKept(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, BuildInfo{})
	state, version := reconcile.StatePending, uint64(0)
	m.SetContainerSource(func() []ContainerInfo {
		return []ContainerInfo{{Name: "web", Isolation: "process", Image: "iis:ltsc2022", State: state, Desired: true}}
	})
	m.SetContainerVersion(func() uint64 { return version })
	m.IncWatchEvent(spec.TriggerEvent)
	h := Handler(Endpoints{Gatherer: reg, Extra: m.ContainerSeries()})

	scrape := func(gzipped bool) map[string]int {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if gzipped {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body io.Reader = rec.Body
		if gzipped {
			if rec.Header().Get("Content-Encoding") != "gzip" {
				t.Fatalf("Content-Encoding %q, want gzip", rec.Header().Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		}
		text, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(strings.NewReader(string(text)))
		if err != nil {
			t.Fatalf("the exposition does not parse: %v\n%s", err, text)
		}
		counts := map[string]int{}
		for name, mf := range mfs {
			counts[name] = len(mf.GetMetric())
			if name == "isoagent_container_info" {
				for _, lp := range mf.GetMetric()[0].GetLabel() {
					if lp.GetName() == "state" {
						counts["state="+lp.GetValue()]++
					}
				}
			}
		}
		return counts
	}
	for _, gzipped := range []bool{false, true} {
		c := scrape(gzipped)
		if c["isoagent_container_info"] != 1 || c["isoagent_watch_events_total"] == 0 || c["state=pending"] != 1 {
			t.Errorf("gzip %t: info series %d, watch event series %d, pending %d; want 1, some, 1", gzipped, c["isoagent_container_info"], c["isoagent_watch_events_total"], c["state=pending"])
		}
	}
	state = reconcile.StateRunning
	if c := scrape(true); c["state=pending"] != 1 {
		t.Errorf("before the version moved: %v, want the series kept", c)
	}
	version++
	if c := scrape(true); c["state=running"] != 1 {
		t.Errorf("after the version moved: %v, want the new state", c)
	}
	// The registry alone no longer has them: they are served once.
	if n, err := reg.Gather(); err != nil || hasFamily(n, "isoagent_container_info") {
		t.Errorf("the registry still gathers the per-container series (err %v)", err)
	}
}

func hasFamily(mfs []*dto.MetricFamily, name string) bool {
	for _, mf := range mfs {
		if mf.GetName() == name {
			return true
		}
	}
	return false
}

// Served by ContainerSeries, the per-container families are gathered in
// groups, one after another; what a scrape reads is what the registry's
// own gather of every family at once says.
func TestContainerSeriesServedAsGathered(t *testing.T) {
	three := 3
	source := func() []ContainerInfo {
		return []ContainerInfo{
			{Name: "web", ID: "3f6c1d0e9a7b", Isolation: "process", Image: "iis:ltsc2022", State: reconcile.StateRunning, Desired: true, Running: true, Health: health.Healthy},
			{Name: "job", ID: "8b2e4a61c5d7", Isolation: "hyperv", Image: "job:ltsc2022", State: reconcile.StateExited, Desired: true, LastExitCode: &three,
				Schedule: &ScheduleInfo{LastRun: time.Unix(1767225600, 0), NextRun: time.Unix(1767229200, 0), LastExitCode: &three, Missed: 1}},
			{Name: "api", ID: "1d0e9a7b3f6c", Isolation: "process", Image: "api:ltsc2022", State: reconcile.StateRunning, Desired: true, Running: true, Health: health.Unhealthy,
				Conditions: []reconcile.ConditionType{reconcile.CondCrashLoop}},
		}
	}
	build := func(m *Metrics) {
		m.SetContainerSource(source)
		m.IncRestart("web")
		m.IncExit("job", reconcile.ExitFailed)
	}
	lines := func(text string) []string {
		ls := strings.Split(strings.TrimSpace(text), "\n")
		slices.Sort(ls)
		return ls
	}
	wreg := prometheus.NewRegistry()
	whole := New(wreg, BuildInfo{})
	build(whole)
	mfs, err := wreg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	want := lines(buf.String())

	areg := prometheus.NewRegistry()
	apart := New(areg, BuildInfo{})
	build(apart)
	h := Handler(Endpoints{Gatherer: areg, Extra: apart.ContainerSeries()})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	got := lines(rec.Body.String())
	for _, series := range []string{`isoagent_container_info{`, `isoagent_container_exits_total{name="job",reason="failed"} 1`, `isoagent_schedule_missed_runs_total{name="job"} 1`, `isoagent_container_last_exit_code{name="job"} 3`} {
		if !slices.ContainsFunc(want, func(l string) bool { return strings.HasPrefix(l, series) }) {
			t.Fatalf("the registry's gather has no %s; the test's source is not what it means to be:\n%s", series, strings.Join(want, "\n"))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("served series differ from the registry's gather:\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
