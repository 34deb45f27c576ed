//go:build windows

package hcs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Microsoft/hcsshim"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.StatsReader = (*Driver)(nil)

// Stats implements driver.StatsReader: for each running container the
// driver holds, the compute system's Statistics property (processor,
// memory, storage) and HNS's statistics of each endpoint the driver made
// for its run (GET /endpointstats/ID, hcsshim.GetHNSEndpointStats; an
// endpoint it shares with another container is counted there). A
// container that stops while it is asked is left out. It holds no lock of
// the container, so a scrape never waits for a Stop's timeout.
func (d *Driver) Stats(ctx context.Context) ([]driver.Stats, error) {
	ids, err := d.records.list()
	if err != nil {
		return nil, err
	}
	var out []driver.Stats
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("statistics: %w", err)
		}
		st, ok, err := d.stats(id)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		for _, ep := range st.endpoints {
			es, err := hcsshim.GetHNSEndpointStats(ep)
			if err != nil {
				// The endpoint went with the run (HNS restarted, the
				// container exited): the next List tells.
				d.log.Debug("endpoint statistics", "id", id, "endpoint", ep, "err", err)
				continue
			}
			st.Network = append(st.Network, driver.NetworkStats{
				Endpoint:        strings.ToLower(ep),
				ReceiveBytes:    es.BytesReceived,
				TransmitBytes:   es.BytesSent,
				ReceivePackets:  es.PacketsReceived,
				TransmitPackets: es.PacketsSent,
				ReceiveDrops:    es.DroppedPacketsIncoming,
				TransmitDrops:   es.DroppedPacketsOutgoing,
			})
		}
		out = append(out, st.Stats)
	}
	slices.SortFunc(out, func(a, b driver.Stats) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// runStats is what Stats reads of one container through HCS, with the
// endpoints of its run.
type runStats struct {
	driver.Stats
	endpoints []string
}

// stats reads the Statistics of container id when it runs. It holds the
// container's lock, so that the handle is not released under it; a
// container an operation (a start, a stop) is under way on is left out of
// this reading rather than waited for.
func (d *Driver) stats(id string) (runStats, bool, error) {
	unlock, ok := d.tryLock(id)
	if !ok {
		return runStats{}, false, nil
	}
	defer unlock()
	l := d.getLive(id)
	if l == nil || l.p == nil || l.done == nil {
		return runStats{}, false, nil // not running, or not adopted yet
	}
	select {
	case <-l.done:
		return runStats{}, false, nil
	default:
	}
	rec, err := d.getRecord(id)
	if err != nil || rec == nil || rec.Config.Owner != d.owner {
		return runStats{}, false, nil
	}
	s, err := l.c.Statistics()
	if err != nil {
		if stopped(err) || closed(err) {
			return runStats{}, false, nil
		}
		return runStats{}, false, hcsError("statistics of", id, err)
	}
	return runStats{statsOf(id, s, d.limits(rec)), rec.Endpoints}, true, nil
}

// limits are the resources HCS was given for rec: the config's, as the
// document the driver makes from it caps them (a CPU count above the
// host's processors, no CPU maximum next to a count with process
// isolation).
func (d *Driver) limits(rec *record) driver.Resources {
	doc, _, err := containerConfig(rec, "", make([]string, len(rec.Layers)), d.hostCPUs())
	if err != nil {
		return rec.Config.Resources
	}
	return driver.Resources{
		CPUCount:          int(doc.ProcessorCount),
		CPUMaximumPercent: int(doc.ProcessorMaximum / 100),
		MemoryMB:          int(doc.MemoryMaximumInMB),
	}
}

// statsOf converts HCS's schema-v1 Statistics; its times are in units of
// 100 ns.
func statsOf(id string, s hcsshim.Statistics, limits driver.Resources) driver.Stats {
	t := s.Timestamp
	if t.IsZero() {
		t = time.Now()
	}
	return driver.Stats{
		ID:   id,
		Time: t,
		CPU: driver.CPUStats{
			Total:  ticks(s.Processor.TotalRuntime100ns),
			User:   ticks(s.Processor.RuntimeUser100ns),
			Kernel: ticks(s.Processor.RuntimeKernel100ns),
		},
		Memory: driver.MemoryStats{
			CommitBytes:            s.Memory.UsageCommitBytes,
			CommitPeakBytes:        s.Memory.UsageCommitPeakBytes,
			PrivateWorkingSetBytes: s.Memory.UsagePrivateWorkingSetBytes,
		},
		Storage: driver.StorageStats{
			ReadCount:  s.Storage.ReadCountNormalized,
			ReadBytes:  s.Storage.ReadSizeBytes,
			WriteCount: s.Storage.WriteCountNormalized,
			WriteBytes: s.Storage.WriteSizeBytes,
		},
		Limits: limits,
	}
}

func ticks(n uint64) time.Duration { return time.Duration(n) * 100 }
