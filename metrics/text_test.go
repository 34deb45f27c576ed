package metrics

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/health"
	"github.com/isoagent/isoagent/reconcile"
)

// nastyValues are label values that need escaping or are not ASCII.
var nastyValues = []string{
	`plain`, `say "hi"`, `C:\ProgramData\isoagent`, "two\nlines", `trailing\`, `\"`, "tab\there",
	"ünïcödé", "日本語", "emoji 🚀", "", "{braces},=", "#comment",
}

// The text writer writes a family byte for byte as expfmt writes the
// same family gathered by a registry: HELP and TYPE, label order and
// escaping, float formatting, series order.
func TestTextWriterIsExpfmt(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 2, 1e-300, 1e300, 1 << 53, 1<<53 + 1, 82575360, 120.125, -3.75, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64}
	for _, vt := range []prometheus.ValueType{prometheus.CounterValue, prometheus.GaugeValue} {
		f := newFamily("isoagent_test_values", "Help with a \\ backslash,\na newline and \"quotes\" ünïcödé.", vt, "zeta", "alpha", "mid")
		reg := prometheus.NewRegistry()
		var samples []textSample
		collect := func(ch chan<- prometheus.Metric) {}
		i := 0
		for _, a := range nastyValues {
			for _, b := range []string{"x", `y"`, "z\n"} {
				v := values[i%len(values)]
				lvs := []string{a + "z", b, a} // Desc order: zeta, alpha, mid
				samples = append(samples, textSample{f.inNameOrder(lvs), v})
				prev := collect
				collect = func(ch chan<- prometheus.Metric) { prev(ch); ch <- f.metric(v, lvs...) }
				i++
			}
		}
		reg.MustRegister(funcCollector{f.desc, func(ch chan<- prometheus.Metric) { collect(ch) }})
		want := expfmtText(t, reg)

		var got bytes.Buffer
		tw := newTextWriter(&got)
		tw.writeSorted(f, samples)
		if err := tw.flush(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want {
			t.Errorf("%v: text writer and expfmt differ:\ngot:\n%s\nwant:\n%s", vt, got.String(), want)
		}
	}
}

// A label value that is not UTF-8 is written with its bad bytes
// replaced, so the exposition still parses (a registry refuses it).
func TestTextWriterReplacesBadUTF8(t *testing.T) {
	f := newFamily("isoagent_test_info", "Test.", prometheus.GaugeValue, "name")
	var got bytes.Buffer
	tw := newTextWriter(&got)
	tw.writeSorted(f, []textSample{{[]string{"bad\xff\"name"}, 1}})
	if err := tw.flush(); err != nil {
		t.Fatal(err)
	}
	want := "isoagent_test_info{name=\"bad\uFFFD\\\"name\"} 1\n"
	if !strings.HasSuffix(got.String(), want) {
		t.Errorf("got %q, want it to end in %q", got.String(), want)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := p.TextToMetricFamilies(&got); err != nil {
		t.Errorf("does not parse: %v", err)
	}
}

// Served by ContainerSeries, every per-container, usage and log family
// is byte for byte what expfmt writes of the registry's gather of the
// same data, nasty names and values included (family blocks compared
// whole: their order in the exposition differs, the series within one do
// not).
func TestContainerSeriesAreExpfmt(t *testing.T) {
	three, minus := 3, -1
	var infos []ContainerInfo
	var stats []ContainerStats
	var logs []ContainerLogBytes
	for i, v := range nastyValues {
		id := strings.Repeat(string(rune('a'+i)), 12)
		if i%4 == 3 {
			id = "" // no container on the host
		}
		ci := ContainerInfo{Name: v, ID: id, Isolation: []string{"process", "hyperv", "default", "weird"}[i%4], Image: "example.com/" + v + ":ltsc2022",
			State: reconcile.States()[i%len(reconcile.States())], Desired: i%2 == 0, Running: i%3 == 0,
			Health: []health.State{health.Healthy, health.Starting, health.Unhealthy, ""}[i%4]}
		if i%5 == 0 {
			ci.LastExitCode = &three
			ci.Schedule = &ScheduleInfo{LastRun: time.Unix(1767225600, 500), NextRun: time.Unix(1767229200, 0), LastExitCode: &minus, Missed: i, Skipped: 1}
			ci.Conditions = []reconcile.ConditionType{reconcile.CondCrashLoop}
		}
		infos = append(infos, ci)
		if id != "" {
			s := testStats
			s.ID = id
			s.CPU.User = time.Duration(i) * 1234567 * time.Microsecond
			s.Network = []driver.NetworkStats{{Endpoint: "z-" + v, ReceiveBytes: uint64(i) << 40}, {Endpoint: v, TransmitDrops: 7}}
			if i%2 == 1 {
				s.Limits = driver.Resources{}
			}
			stats = append(stats, ContainerStats{Name: v, Stats: s})
		}
		logs = append(logs, ContainerLogBytes{Name: v, Bytes: float64(i) * 1e9})
	}
	build := func(m *Metrics) {
		m.SetContainerSource(func() []ContainerInfo { return infos })
		m.SetStatsSource(func() []ContainerStats { return stats })
		m.SetLogBytesSource(func() []ContainerLogBytes { return logs })
		m.IncRestart(nastyValues[1])
		m.IncExit(nastyValues[2], reconcile.ExitFailed)
		m.IncExit(nastyValues[2], reconcile.ExitStopped)
	}
	wreg := prometheus.NewRegistry()
	whole := New(wreg, BuildInfo{})
	build(whole)
	want := blocks(expfmtText(t, wreg))

	areg := prometheus.NewRegistry()
	apart := New(areg, BuildInfo{})
	build(apart)
	rec := httptest.NewRecorder()
	Handler(Endpoints{Gatherer: areg, Extra: apart.ContainerSeries()}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	got := blocks(rec.Body.String())
	for _, f := range []string{"isoagent_container_info ", "isoagent_container_network_transmit_drops_total ", "isoagent_schedule_last_exit_code ", "isoagent_container_log_bytes_total ", "isoagent_container_healthy "} {
		if !slices.ContainsFunc(want, func(b string) bool { return strings.HasPrefix(b, "# HELP "+f) }) {
			t.Fatalf("the registry's gather has no %s; the test's data is not what it means to be", f)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("served families differ from expfmt's text of the registry's gather:\ngot:\n%s\nwant:\n%s", strings.Join(got, ""), strings.Join(want, ""))
	}
}

// expfmtText is reg's gather in the text format, as expfmt writes it.
func expfmtText(t *testing.T, reg prometheus.Gatherer) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

// funcCollector collects one family with collect.
type funcCollector struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (f funcCollector) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }
func (f funcCollector) Collect(ch chan<- prometheus.Metric) { f.collect(ch) }

// Kept in pieces, each encoded again only when what it says changed, the
// per-container families served after every kind of change are what a
// registry's gather of the same state says at that moment.
func TestContainerSeriesFollowEveryChange(t *testing.T) {
	var mu sync.Mutex
	version := uint64(1)
	infos := []ContainerInfo{
		{Name: "web", ID: "3f6c1d0e9a7b", Isolation: "process", Image: "iis:ltsc2022", State: reconcile.StateRunning, Desired: true, Running: true, Health: health.Healthy},
		{Name: "job", ID: "8b2e4a61c5d7", Isolation: "hyperv", Image: "job:ltsc2022", State: reconcile.StateExited, Desired: true},
	}
	source := func() []ContainerInfo { mu.Lock(); defer mu.Unlock(); return slices.Clone(infos) }
	whole, wreg := newTest(t)
	apart, areg := newTest(t)
	for _, m := range []*Metrics{whole, apart} {
		m.SetContainerSource(source)
		m.SetContainerVersion(func() uint64 { mu.Lock(); defer mu.Unlock(); return version })
	}
	h := Handler(Endpoints{Gatherer: areg, Extra: apart.ContainerSeries()})
	both := func(fn func(m *Metrics)) func() { return func() { fn(whole); fn(apart) } }
	edit := func(fn func()) func() {
		return func() { mu.Lock(); defer mu.Unlock(); fn(); version++ }
	}
	steps := []struct {
		name   string
		change func()
		want   string // a line the scrape must hold after the change
	}{
		{"first scrape", func() {}, `isoagent_container_healthy{name="web"} 1`},
		{"a state changes", edit(func() { infos[1].State = reconcile.StatePending }), `isoagent_containers{state="pending"} 1`},
		{"an exit", both(func(m *Metrics) { m.IncExit("job", reconcile.ExitFailed) }), `isoagent_container_exits_total{name="job",reason="failed"} 1`},
		{"a restart", both(func(m *Metrics) { m.IncRestart("web") }), `isoagent_container_restarts_total{name="web"} 1`},
		{"health turns", edit(func() { infos[0].Health = health.Unhealthy }), `isoagent_container_healthy{name="web"} 0`},
		{"a schedule", edit(func() { infos[1].Schedule = &ScheduleInfo{Missed: 2} }), `isoagent_schedule_missed_runs_total{name="job"} 2`},
		{"a container recreated", edit(func() { infos[0].ID = "0a1b2c3d4e5f" }), `container_id="0a1b2c3d4e5f"`},
		{"a container goes", edit(func() { infos = infos[1:] }), `isoagent_container_exits_total{name="job",reason="failed"} 1`},
		{"the version moves, nothing changed", edit(func() {}), `isoagent_containers{state="pending"} 1`},
	}
	for _, s := range steps {
		s.change()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		text := rec.Body.String()
		want := blocks(expfmtText(t, wreg))
		if !strings.Contains(text, s.want) {
			t.Errorf("%s: no %s in\n%s", s.name, s.want, text)
		}
		got := blocks(text)
		for _, b := range want {
			if !slices.Contains(got, b) {
				t.Errorf("%s: the registry's gather has\n%sbut the scrape has not", s.name, b)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d families served, the registry gathers %d", s.name, len(got), len(want))
		}
	}
}

// blocks splits an exposition's text into its families (each from its
// HELP line), sorted: two expositions of the same families in another
// order have the same blocks.
func blocks(text string) []string {
	var out []string
	for _, l := range strings.SplitAfter(text, "\n") {
		if strings.HasPrefix(l, "# HELP ") || len(out) == 0 {
			out = append(out, "")
		}
		out[len(out)-1] += l
	}
	slices.Sort(out)
	return out
}
