package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/reconcile"
)

// BenchmarkScrapeUsage measures one GET /metrics, gzipped as Prometheus
// asks for it, of an agent with 1,000 and 10,000 running containers, without the per-container usage series (the
// baseline) and with them, in one run: between two readings (the series
// kept encoded) and with a new reading at every scrape (the scrape after
// a reading builds and encodes them). The usage source returns a reading
// the agent has cached (package agent reads the driver at most once per
// --stats-interval; driver/sim's BenchmarkStats measures that reading).
func BenchmarkScrapeUsage(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		benchmarkScrapeUsage(b, n)
	}
}

func benchmarkScrapeUsage(b *testing.B, n int) {
	infos := make([]ContainerInfo, n)
	stats := make([]ContainerStats, n)
	// next is the reading after stats: every counter and gauge moved, as
	// on a host at work.
	next := make([]ContainerStats, n)
	for i := range n {
		name, id := fmt.Sprintf("web-%04d", i), fmt.Sprintf("%012x", i)
		infos[i] = ContainerInfo{Name: name, ID: id, Isolation: string(driver.Process), Image: "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022", State: reconcile.StateRunning, Desired: true, Running: true}
		s := testStats
		s.ID = id
		s.Network = []driver.NetworkStats{{Endpoint: fmt.Sprintf("9e1f3b2a-77c4-4d0e-b1a5-%012x", i), ReceiveBytes: uint64(i) << 20}}
		stats[i] = ContainerStats{Name: name, Stats: s}
		s.CPU.User += 250 * time.Millisecond
		s.CPU.Kernel += 50 * time.Millisecond
		s.Memory.CommitBytes += 4096
		s.Memory.PrivateWorkingSetBytes += 4096
		s.Storage.ReadBytes, s.Storage.WriteBytes = s.Storage.ReadBytes+32768, s.Storage.WriteBytes+98304
		s.Storage.ReadCount, s.Storage.WriteCount = s.Storage.ReadCount+1, s.Storage.WriteCount+3
		s.Network = []driver.NetworkStats{{Endpoint: s.Network[0].Endpoint, ReceiveBytes: s.Network[0].ReceiveBytes + 49152, TransmitBytes: 163840, ReceivePackets: 55, TransmitPackets: 182}}
		next[i] = ContainerStats{Name: name, Stats: s}
	}
	cases := []struct {
		name                          string
		withStats, moving, containers bool
	}{
		{"stats=false", false, false, false},
		{"stats=true", true, false, false},
		{"stats=true/reading=every-scrape", true, true, false},
		// An engine change between readings: the container version
		// moves, the reading does not.
		{"stats=true/containers=every-scrape", true, false, true},
	}
	for _, bc := range cases {
		b.Run(fmt.Sprintf("containers=%d/%s", n, bc.name), func(b *testing.B) {
			reg := NewRegistry()
			m := New(reg, testBuild)
			m.SetContainerSource(func() []ContainerInfo { return infos })
			// As the agent serves them: the info and restart series kept
			// encoded while the container version stays.
			var version uint64
			m.SetContainerVersion(func() uint64 {
				if bc.containers {
					version++
				}
				return version
			})
			if bc.withStats {
				// As the agent serves them: kept per reading, and a
				// new reading says new values.
				var reading uint64
				m.SetStatsSource(func() []ContainerStats {
					if reading%2 == 1 {
						return next
					}
					return stats
				})
				m.SetStatsVersion(func() uint64 {
					if bc.moving {
						reading++
					}
					return reading
				})
			}
			h := Handler(Endpoints{Gatherer: reg, Extra: m.ContainerSeries()})
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			// The first scrape encodes everything in any case.
			h.ServeHTTP(httptest.NewRecorder(), req)
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
