package sim

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.StatsReader = (*Driver)(nil)

// Stats returns the statistics of the running containers of the driver's
// owner; see Model.Stats.
func (d *Driver) Stats(ctx context.Context) ([]driver.Stats, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return d.model.Stats(d.owner)
}

// Stats returns the statistics of the running containers of owner ("" for
// every owner), sorted by ID. The numbers are worked out from the clock:
// they start at zero when a container starts and grow with the time it
// has run at the pace of what its command does (see usageOf), within its
// CPU and memory limits, so that a test with a fixed clock can pin them.
func (m *Model) Stats(owner string) ([]driver.Stats, error) {
	now := m.clock()
	var out []driver.Stats
	err := m.view(func(s *state) error {
		for _, r := range s.Containers {
			if r.State != driver.StateRunning || (owner != "" && r.Config.Owner != owner) {
				continue
			}
			out = append(out, r.stats(now))
		}
		return nil
	})
	slices.SortFunc(out, func(a, b driver.Stats) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// usage is the pace at which a kind of program uses the host.
type usage struct {
	cpu         float64 // CPUs busy, before limits
	kernel      float64 // share of CPU time in kernel mode
	memBase     float64 // commit at start, bytes
	memGrowth   float64 // commit growth, bytes per second
	readAtStart float64 // bytes read while starting
	readRate    float64 // bytes per second
	writeRate   float64
	rxRate      float64 // bytes per second received
	txRate      float64
	packet      float64 // bytes per packet
}

const mib = 1 << 20

// Paces of the programs the sim knows; every other command is a service
// doing steady work (IIS, a .NET API).
var (
	usagePing    = usage{cpu: 0.002, kernel: 0.6, memBase: 6 * mib, memGrowth: 0, readAtStart: 2 * mib, writeRate: 16, rxRate: 74, txRate: 74, packet: 74}
	usageTimeout = usage{cpu: 0.0005, kernel: 0.5, memBase: 4 * mib, readAtStart: 1 * mib}
	usageShell   = usage{cpu: 0.001, kernel: 0.3, memBase: 8 * mib, readAtStart: 3 * mib, writeRate: 64}
	usageService = usage{cpu: 0.25, kernel: 0.2, memBase: 120 * mib, memGrowth: 64 << 10, readAtStart: 60 * mib, readRate: 32 << 10, writeRate: 96 << 10, rxRate: 48 << 10, txRate: 160 << 10, packet: 900}
)

// usageOf tells the pace of argv, the program a `cmd /c` runs rather than
// cmd itself.
func usageOf(argv []string) usage {
	if len(argv) == 0 {
		return usageService
	}
	switch program(argv[0]) {
	case "cmd":
		for i, a := range argv[1:] {
			if strings.EqualFold(a, "/c") || strings.EqualFold(a, "/k") {
				words := strings.Fields(strings.ReplaceAll(strings.Join(argv[i+2:], " "), `"`, ""))
				if len(words) > 0 && strings.EqualFold(words[0], "exit") {
					return usageShell
				}
				return usageOf(words)
			}
		}
		return usageShell
	case "ping":
		return usagePing
	case "timeout":
		return usageTimeout
	}
	return usageService
}

// memorySawtooth is the commit a program allocates and frees again every
// memoryPeriod on top of its steady growth, so the peak is above the
// commit.
const (
	memorySawtooth = 0.1
	memoryPeriod   = 60 * time.Second
)

// stats works out r's statistics at now.
func (r *record) stats(now time.Time) driver.Stats {
	u := usageOf(r.Command)
	res := r.Config.Resources
	t := max(now.Sub(r.StartedAt), 0)
	sec := t.Seconds()

	cpus := u.cpu
	if res.CPUCount > 0 {
		cpus = min(cpus, float64(res.CPUCount))
	}
	if res.CPUMaximumPercent > 0 {
		cpus *= float64(res.CPUMaximumPercent) / 100
	}
	total := time.Duration(cpus * float64(t))
	kernel := time.Duration(u.kernel * float64(total))

	// Commit grows steadily and saws up and down by a tenth; with a
	// limit it levels off just below it, as a process that the job
	// object refuses more memory does.
	steady := u.memBase + u.memGrowth*sec
	saw := memorySawtooth * u.memBase
	if limit := float64(res.MemoryMB) * mib; limit > 0 {
		steady = min(steady, 0.95*limit-saw)
	}
	phase := math.Mod(sec, memoryPeriod.Seconds()) / memoryPeriod.Seconds()
	commit := steady + saw*phase
	peak := steady + saw
	if t < memoryPeriod {
		peak = commit
	}

	st := driver.Stats{
		ID:   r.Config.ID,
		Time: now,
		CPU:  driver.CPUStats{Total: total, User: total - kernel, Kernel: kernel},
		Memory: driver.MemoryStats{
			CommitBytes:            uint64(commit),
			CommitPeakBytes:        uint64(peak),
			PrivateWorkingSetBytes: uint64(0.8 * commit),
		},
		Storage: storage(u.readAtStart+u.readRate*sec, u.writeRate*sec),
		Limits:  res,
	}
	if ep, ok := r.endpoint(); ok && u.packet > 0 {
		rx, tx := u.rxRate*sec, u.txRate*sec
		st.Network = []driver.NetworkStats{{
			Endpoint:        ep,
			ReceiveBytes:    uint64(rx),
			TransmitBytes:   uint64(tx),
			ReceivePackets:  uint64(rx / u.packet),
			TransmitPackets: uint64(tx / u.packet),
			// A packet in ten thousand is dropped on the way in.
			ReceiveDrops: uint64(rx / u.packet / 1e4),
		}}
	}
	return st
}

// ioSize is the size HCS normalises storage operations to.
const ioSize = 64 << 10

func storage(read, write float64) driver.StorageStats {
	return driver.StorageStats{
		ReadBytes:  uint64(read),
		ReadCount:  uint64(math.Ceil(read / ioSize)),
		WriteBytes: uint64(write),
		WriteCount: uint64(math.Ceil(write / ioSize)),
	}
}

// endpoint returns the ID of the HNS endpoint the current run of r would
// have: one per start, none without a network of its own.
func (r *record) endpoint() (string, bool) {
	if r.Config.Network == "none" || r.Config.NetworkSharedWith != "" {
		return "", false
	}
	h := sha256.Sum256([]byte(r.Config.ID + "\x00" + r.StartedAt.Format(time.RFC3339Nano)))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]), true
}
