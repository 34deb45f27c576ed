package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/reconcile"
)

// BenchmarkScrapeUsage measures one GET /metrics of an agent with 1,000
// running containers, without the per-container usage series (the
// baseline) and with them, in one run: between two readings (the series
// kept encoded) and with a new reading at every scrape (the scrape after
// a reading builds and encodes them). The usage source returns a reading
// the agent has cached (package agent reads the driver at most once per
// --stats-interval; driver/sim's BenchmarkStats measures that reading).
func BenchmarkScrapeUsage(b *testing.B) {
	const n = 1000
	infos := make([]ContainerInfo, n)
	stats := make([]ContainerStats, n)
	for i := range n {
		name, id := fmt.Sprintf("web-%04d", i), fmt.Sprintf("%012x", i)
		infos[i] = ContainerInfo{Name: name, ID: id, Isolation: string(driver.Process), Image: "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022", State: reconcile.StateRunning, Desired: true, Running: true}
		s := testStats
		s.ID = id
		s.Network = []driver.NetworkStats{{Endpoint: fmt.Sprintf("9e1f3b2a-77c4-4d0e-b1a5-%012x", i), ReceiveBytes: uint64(i) << 20}}
		stats[i] = ContainerStats{Name: name, Stats: s}
	}
	cases := []struct {
		name              string
		withStats, moving bool
	}{
		{"stats=false", false, false},
		{"stats=true", true, false},
		{"stats=true/reading=every-scrape", true, true},
	}
	for _, bc := range cases {
		b.Run(fmt.Sprintf("containers=%d/%s", n, bc.name), func(b *testing.B) {
			reg := NewRegistry()
			m := New(reg, testBuild)
			m.SetContainerSource(func() []ContainerInfo { return infos })
			// As the agent serves them: the info and restart series kept
			// encoded while the container version stays.
			m.SetContainerVersion(func() uint64 { return 1 })
			if bc.withStats {
				m.SetStatsSource(func() []ContainerStats { return stats })
				// As the agent serves them: kept per reading.
				var reading uint64
				m.SetStatsVersion(func() uint64 {
					if bc.moving {
						reading++
					}
					return reading
				})
			}
			h := Handler(Endpoints{Gatherer: reg, Extra: m.ContainerSeries()})
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			var size int
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/scrape")
		})
	}
}
