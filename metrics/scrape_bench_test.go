package metrics

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/isoagent/isoagent/reconcile"
)

// BenchmarkScrape is one scrape of /metrics, as Prometheus asks for it
// (gzip), with n containers known: what a scrape costs the agent beyond
// building its view of the engine (the source here is ready), with the
// series built and encoded at every scrape, or kept encoded while the
// version stays (Metrics.ContainerSeries, as the agent serves them).
func BenchmarkScrape(b *testing.B) {
	for _, tc := range []struct {
		n         int
		versioned bool
	}{{100, false}, {10000, false}, {100, true}, {10000, true}} {
		b.Run(fmt.Sprintf("containers=%d/versioned=%t", tc.n, tc.versioned), func(b *testing.B) {
			n := tc.n
			reg := prometheus.NewRegistry()
			m := New(reg, BuildInfo{})
			infos := make([]ContainerInfo, n)
			for i := range infos {
				infos[i] = ContainerInfo{Name: fmt.Sprintf("web-%05d", i), Isolation: "process", Image: "mcr.microsoft.com/windows/servercore:ltsc2022", State: reconcile.StateRunning, Desired: true, Running: true}
			}
			m.SetContainerSource(func() []ContainerInfo { return infos })
			if tc.versioned {
				m.SetContainerVersion(func() uint64 { return 1 })
			}
			e := Endpoints{Gatherer: reg}
			if tc.versioned {
				e.Extra = m.ContainerSeries()
			}
			h := Handler(e)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				req.Header.Set("Accept-Encoding", "gzip")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
				io.Copy(io.Discard, rec.Body)
			}
		})
	}
}
