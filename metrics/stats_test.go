package metrics

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/isoagent/isoagent/driver"
)

func TestStatsSeriesFollowTheSource(t *testing.T) {
	m, reg := newTest(t)
	unlimited := driver.Stats{ID: "a1", Network: []driver.NetworkStats{{Endpoint: "e1"}, {Endpoint: "e2"}}}
	var mu sync.Mutex
	current := []ContainerStats{{Name: "web", Stats: testStats}, {Name: "job", Stats: unlimited}}
	m.SetStatsSource(func() []ContainerStats {
		mu.Lock()
		defer mu.Unlock()
		return current
	})
	tests := []struct {
		metric string
		want   int
	}{
		{"isoagent_container_cpu_seconds_total", 4},           // user and kernel of each
		{"isoagent_container_memory_limit_bytes", 1},          // job has none
		{"isoagent_container_cpu_limit_cores", 1},             //
		{"isoagent_container_network_receive_bytes_total", 3}, // one endpoint of web, two of job
	}
	for _, tt := range tests {
		if n, err := testutil.GatherAndCount(reg, tt.metric); err != nil || n != tt.want {
			t.Errorf("%s: %d series (err %v), want %d", tt.metric, n, err, tt.want)
		}
	}
	mu.Lock()
	current = current[:1]
	mu.Unlock()
	if n, _ := testutil.GatherAndCount(reg, "isoagent_container_network_receive_bytes_total"); n != 1 {
		t.Errorf("after job went: %d network series, want web's 1", n)
	}
	mu.Lock()
	current = nil
	mu.Unlock()
	if n, _ := testutil.GatherAndCount(reg, "isoagent_container_cpu_seconds_total", "isoagent_container_memory_private_working_set_bytes"); n != 0 {
		t.Errorf("after every container went: %d usage series, want 0", n)
	}
}

// With a stats version, the usage series of one reading are built (and,
// served by ContainerSeries, encoded) once: until the reading or the
// containers move, a scrape neither asks the source nor says anything
// new, and a new reading shows its values and drops a gone container.
func TestStatsSeriesKeptPerReading(t *testing.T) {
	for _, apart := range []bool{false, true} {
		t.Run(fmt.Sprintf("apart=%v", apart), func(t *testing.T) {
			m, reg := newTest(t)
			var mu sync.Mutex
			var calls int
			reading, containers := uint64(1), uint64(1)
			web := func(commit uint64) ContainerStats {
				return ContainerStats{Name: "web", Stats: driver.Stats{ID: "c1", Memory: driver.MemoryStats{CommitBytes: commit}}}
			}
			current := []ContainerStats{web(100), {Name: "job", Stats: driver.Stats{ID: "c2"}}}
			m.SetStatsSource(func() []ContainerStats {
				mu.Lock()
				defer mu.Unlock()
				calls++
				return current
			})
			m.SetStatsVersion(func() uint64 { mu.Lock(); defer mu.Unlock(); return reading })
			m.SetContainerVersion(func() uint64 { mu.Lock(); defer mu.Unlock(); return containers })
			scrape := gatherText(t, reg)
			if apart {
				scrape = serveText(t, Handler(Endpoints{Gatherer: reg, Extra: m.ContainerSeries()}))
			}

			steps := []struct {
				name       string
				change     func()
				wantCalls  int
				wantSame   bool // the exposition is the one before, byte for byte
				wantCommit string
				wantJob    bool
			}{
				{"first scrape", func() {}, 1, false, "100", true},
				{"between readings", func() { current = []ContainerStats{web(200)} }, 1, true, "100", true},
				{"new reading", func() { reading++ }, 2, false, "200", false},
				{"between readings again", func() {}, 2, true, "200", false},
				{"containers changed", func() { current = []ContainerStats{web(300)}; containers++ }, 3, false, "300", false},
			}
			var before string
			for _, s := range steps {
				mu.Lock()
				s.change()
				mu.Unlock()
				got := scrape()
				mu.Lock()
				n := calls
				mu.Unlock()
				commit := `isoagent_container_memory_commit_bytes{container_id="c1",name="web"} ` + s.wantCommit + "\n"
				job := strings.Contains(got, `name="job"`)
				if n != s.wantCalls || (got == before) != s.wantSame || !strings.Contains(got, commit) || job != s.wantJob {
					t.Errorf("%s: source asked %d times, same exposition %v, web's commit %q there %v, job's series %v; want %d, %v, true, %v\n%s",
						s.name, n, got == before, s.wantCommit, strings.Contains(got, commit), job, s.wantCalls, s.wantSame, s.wantJob, got)
				}
				before = got
			}
		})
	}
}

// gatherText returns a function that gathers reg in the text format.
func gatherText(t *testing.T, reg prometheus.Gatherer) func() string {
	return func() string {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc := expfmt.NewEncoder(&buf, textFormat)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
		return buf.String()
	}
}

// serveText returns a function that scrapes h's /metrics, gzipped, and
// returns the text after checking that it parses.
func serveText(t *testing.T, h http.Handler) func() string {
	return func() string {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		text, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := p.TextToMetricFamilies(bytes.NewReader(text)); err != nil {
			t.Fatalf("the exposition does not parse: %v\n%s", err, text)
		}
		return string(text)
	}
}

// Served by ContainerSeries, the usage series are gathered one family at
// a time; what a scrape reads is what the registry's own gather of every
// family at once says.
func TestStatsSeriesServedAsGathered(t *testing.T) {
	second := testStats
	second.ID, second.Limits = "9a7b3f6c1d0e", driver.Resources{}
	second.Network = append(slices.Clone(testStats.Network), driver.NetworkStats{Endpoint: "e2", TransmitBytes: 7})
	source := func() []ContainerStats {
		return []ContainerStats{{Name: "web", Stats: testStats}, {Name: "api", Stats: second}, {Name: "job", Stats: driver.Stats{ID: "c3"}}}
	}
	usage := func(text string) []string {
		var lines []string
		for _, l := range strings.Split(text, "\n") {
			for _, f := range []string{"isoagent_container_cpu", "isoagent_container_memory", "isoagent_container_storage", "isoagent_container_network"} {
				if strings.HasPrefix(strings.TrimPrefix(strings.TrimPrefix(l, "# HELP "), "# TYPE "), f) {
					lines = append(lines, l)
				}
			}
		}
		slices.Sort(lines)
		return lines
	}
	whole, wreg := newTest(t)
	whole.SetStatsSource(source)
	want := usage(gatherText(t, wreg)())
	apart, areg := newTest(t)
	apart.SetStatsSource(source)
	got := usage(serveText(t, Handler(Endpoints{Gatherer: areg, Extra: apart.ContainerSeries()}))())
	if len(want) < 3*16 {
		t.Fatalf("the registry's gather has %d usage lines, want at least %d", len(want), 3*16)
	}
	if !slices.Equal(got, want) {
		t.Errorf("served usage series differ from the registry's gather:\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
