package agent

import (
	"log/slog"
	"testing"
	"time"

	"github.com/isoagent/isoagent/containerlog"
	"github.com/isoagent/isoagent/crilog"
	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/monitor"
	"github.com/isoagent/isoagent/reconcile"
)

// A name's log count adds up its containers' while the agent runs: a
// rollout's new container adds to it, the old one's removal takes nothing
// away, and a spec gone takes its series with it. It is counted again only
// once the interval is over.
func TestLogCountsByNameNeverGoBack(t *testing.T) {
	l := monitor.Layout{Dir: t.TempDir()}
	writers := map[string]*crilog.Writer{}
	write := func(id string, n int) {
		t.Helper()
		w := writers[id]
		if w == nil {
			dir, err := l.NewRun(id, monitor.Config{Name: "web"}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if w, err = crilog.Create(monitor.LogPath(dir), crilog.Options{}); err != nil {
				t.Fatal(err)
			}
			writers[id] = w
			t.Cleanup(func() { w.Close() })
		}
		for range n {
			w.Write(crilog.Stdout, false, []byte("x"))
		}
		w.Flush()
	}
	size := func(ids ...string) (n float64) {
		for _, id := range ids {
			runs, _ := l.Runs(id)
			b, err := crilog.Written(monitor.LogPath(runs[len(runs)-1]))
			if err != nil {
				t.Fatal(err)
			}
			n += float64(b)
		}
		return n
	}

	var infos []metrics.ContainerInfo
	now := time.Unix(1767225600, 0)
	lc := newLogCounts(containerlog.NewCounter(l), func() []metrics.ContainerInfo { return infos }, 10*time.Second, slog.New(slog.DiscardHandler))
	lc.now = func() time.Time { return now }
	look := func() map[string]float64 {
		now = now.Add(10 * time.Second)
		out := map[string]float64{}
		for _, c := range lc.counts() {
			out[c.Name] = c.Bytes
		}
		return out
	}
	running := func(name, id string) metrics.ContainerInfo {
		return metrics.ContainerInfo{Name: name, ID: id, State: reconcile.StateRunning}
	}

	infos = []metrics.ContainerInfo{running("web", "web-a"), running("quiet", "quiet-a")}
	if got := look(); len(got) != 0 {
		t.Fatalf("before any run: %v, want no series", got)
	}
	write("web-a", 5)
	old := size("web-a")
	if got := look(); got["web"] != old || len(got) != 1 {
		t.Fatalf("one run of web: %v, want web %v only", got, old)
	}
	// Asked again within the interval: the same count, no new look.
	write("web-a", 5)
	if got, _ := lc.get(); len(got) != 1 || got[0].Bytes != old {
		t.Errorf("within the interval: %v, want %v kept", got, old)
	}
	// A rollout: the new container next to the old one, then alone.
	infos = []metrics.ContainerInfo{running("web", "web-a"), running("web", "web-b"), running("quiet", "quiet-a")}
	write("web-b", 3)
	both := size("web-a", "web-b")
	if got := look(); got["web"] != both {
		t.Errorf("during the rollout: web %v, want %v", got["web"], both)
	}
	infos = []metrics.ContainerInfo{running("web", "web-b"), running("quiet", "quiet-a")}
	write("web-b", 2)
	if got, want := look(), size("web-a", "web-b"); got["web"] != want {
		t.Errorf("after the old container went: web %v, want %v, all both wrote", got["web"], want)
	}
	// The spec removed: its series goes.
	infos = []metrics.ContainerInfo{running("quiet", "quiet-a")}
	if got := look(); len(got) != 0 {
		t.Errorf("after web's spec went: %v, want no series", got)
	}
}
