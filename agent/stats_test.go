package agent

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/isoagent/isoagent/driver"
	itest "github.com/isoagent/isoagent/internal/testutil"
)

// countingReader is a StatsReader that counts its calls and fails when told.
type countingReader struct {
	calls int
	err   error
	now   func() time.Time
}

func (r *countingReader) Stats(context.Context) ([]driver.Stats, error) {
	r.calls++
	if r.err != nil {
		return nil, r.err
	}
	return []driver.Stats{{ID: "c1", Time: r.now(), CPU: driver.CPUStats{Total: time.Duration(r.calls) * time.Second}}}, nil
}

func TestStatsCacheReadsAtMostOncePerInterval(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	r := &countingReader{now: clock}
	c := newStatsCache(r, 10*time.Second, slog.New(slog.DiscardHandler))
	c.now = clock
	steps := []struct {
		advance   time.Duration
		fail      bool
		wantCalls int
		wantCPU   time.Duration // of the reading served
		wantPrev  bool
		wantGen   uint64 // moves with every reading served anew
	}{
		{0, false, 1, 1 * time.Second, false, 1},
		{time.Second, false, 1, 1 * time.Second, false, 1},
		{8 * time.Second, false, 1, 1 * time.Second, false, 1},
		{time.Second, false, 2, 2 * time.Second, true, 2},     // 10 s after the first
		{10 * time.Second, true, 3, 2 * time.Second, true, 2}, // a failure keeps the last
		{time.Second, false, 3, 2 * time.Second, true, 2},     // and is not retried at once
		{9 * time.Second, false, 4, 4 * time.Second, true, 3},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		r.err = nil
		if s.fail {
			r.err = errors.New("HCS: access denied")
		}
		cur, prev, gen := c.get(t.Context())
		if r.calls != s.wantCalls || cur["c1"].CPU.Total != s.wantCPU || (prev != nil) != s.wantPrev || gen != s.wantGen {
			t.Errorf("step %d: %d calls, CPU %s, previous reading %v, generation %d; want %d, %s, %v, %d", i, r.calls, cur["c1"].CPU.Total, prev != nil, gen, s.wantCalls, s.wantCPU, s.wantPrev, s.wantGen)
		}
	}
}

func TestCPUPercent(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	reading := func(after, cpu time.Duration) driver.Stats {
		return driver.Stats{ID: "c1", Time: at.Add(after), CPU: driver.CPUStats{Total: cpu}}
	}
	tests := []struct {
		name    string
		p, s    driver.Stats
		want    float64
		wantNil bool
	}{
		{"half a processor", reading(0, 10*time.Second), reading(10*time.Second, 15*time.Second), 50, false},
		{"two processors busy", reading(0, 0), reading(10*time.Second, 20*time.Second), 200, false},
		{"no earlier reading", driver.Stats{}, reading(10*time.Second, 5*time.Second), 0, true},
		{"a new run started from zero", reading(0, time.Minute), reading(10*time.Second, time.Second), 0, true},
		{"the same reading", reading(0, time.Second), reading(0, time.Second), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cpuPercent(tt.p, tt.s)
			switch {
			case tt.wantNil && got != nil:
				t.Errorf("cpuPercent = %v, want none", *got)
			case !tt.wantNil && (got == nil || math.Abs(*got-tt.want) > 1e-9):
				t.Errorf("cpuPercent = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestStatusAndMetricsCarryTheSimsStatistics runs the agent over the sim
// in fake time: /status and /metrics show what the running container
// uses, read once per interval, with a CPU percentage from the second
// reading on.
func TestStatusAndMetricsCarryTheSimsStatistics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		itest.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore:ltsc2022")
		a := startAgent(t, Config{Dir: dir, StatsInterval: 10 * time.Second})
		converged(t, a)

		usage := func() (time.Time, *float64) {
			t.Helper()
			for _, c := range a.status(t.Context()).Containers {
				if c.Name == "web" && c.Usage != nil {
					if c.Usage.ID != c.ContainerID || c.Usage.Memory.CommitBytes == 0 {
						t.Errorf("usage of web = %+v, want its container's with a commit", c.Usage)
					}
					return c.Usage.Time, c.Usage.CPUPercent
				}
			}
			t.Fatalf("status has no usage of web: %+v", a.status(t.Context()))
			return time.Time{}, nil
		}
		first, pct := usage()
		if pct != nil {
			t.Errorf("CPU percent %v from one reading, want none", *pct)
		}
		if n, err := testutil.GatherAndCount(a.registry, "isoagent_container_memory_private_working_set_bytes", "isoagent_container_cpu_seconds_total"); err != nil || n != 3 {
			t.Errorf("%d usage series (err %v), want web's working set and its two CPU modes", n, err)
		}
		time.Sleep(5 * time.Second)
		if again, _ := usage(); !again.Equal(first) {
			t.Errorf("read again after 5s of a 10s interval")
		}
		time.Sleep(5 * time.Second)
		second, pct := usage()
		// The image's default command is an idle shell: a thousandth of a
		// processor in the sim.
		if second.Sub(first) != 10*time.Second || pct == nil || math.Abs(*pct-0.1) > 1e-6 {
			t.Errorf("second reading %s after the first with CPU percent %v, want 10s and 0.1", second.Sub(first), pct)
		}
	})
}
