//go:build windows && cgo

package main

import "C"

import (
	"strings"

	"github.com/isoagent/isoagent/driver"
)

// Statistics: a running compute system's Statistics property and its
// endpoints' HNS statistics carry the numbers the sim works out for the
// container (driver/sim's stats model), in HCS's schema-v1 shapes, so the
// hcs driver reads what the sim driver would report.

// simStats returns the sim's statistics of running container id.
func simStats(h *host, id string) (driver.Stats, bool) {
	all, err := h.model.Stats("")
	if err != nil {
		return driver.Stats{}, false
	}
	for _, s := range all {
		if s.ID == id {
			return s, true
		}
	}
	return driver.Stats{}, false
}

// statisticsV1 is the schema-v1 Statistics of running container id, and
// false when it does not run.
func statisticsV1(h *host, id string) (map[string]any, bool) {
	s, ok := simStats(h, id)
	if !ok {
		return nil, false
	}
	c, _ := simContainer(h, id)
	ticks := func(d interface{ Nanoseconds() int64 }) int64 { return d.Nanoseconds() / 100 }
	return map[string]any{
		"Timestamp":          s.Time,
		"ContainerStartTime": c.StartedAt,
		"Uptime100ns":        s.Time.Sub(c.StartedAt).Nanoseconds() / 100,
		"Processor": map[string]any{
			"TotalRuntime100ns":  ticks(s.CPU.Total),
			"RuntimeUser100ns":   ticks(s.CPU.User),
			"RuntimeKernel100ns": ticks(s.CPU.Kernel),
		},
		"Memory": map[string]any{
			"MemoryUsageCommitBytes":            s.Memory.CommitBytes,
			"MemoryUsageCommitPeakBytes":        s.Memory.CommitPeakBytes,
			"MemoryUsagePrivateWorkingSetBytes": s.Memory.PrivateWorkingSetBytes,
		},
		"Storage": map[string]any{
			"ReadCountNormalized":  s.Storage.ReadCount,
			"ReadSizeBytes":        s.Storage.ReadBytes,
			"WriteCountNormalized": s.Storage.WriteCount,
			"WriteSizeBytes":       s.Storage.WriteBytes,
		},
	}, true
}

// endpointStatsV1 answers GET /endpointstats/ID: the sim's network numbers
// of the running container whose compute system has the endpoint, zero
// while none does (HNS counts an endpoint's traffic from its creation).
func endpointStatsV1(h *host, st *fstate, e *fendpoint) map[string]any {
	var n driver.NetworkStats
	for id, s := range st.Systems {
		if s.State != "Running" || !containsFold(s.Endpoints, e.ID) {
			continue
		}
		if ss, ok := simStats(h, id); ok && len(ss.Network) > 0 {
			n = ss.Network[0]
		}
	}
	return map[string]any{
		"EndpointId":             e.ID,
		"BytesReceived":          n.ReceiveBytes,
		"BytesSent":              n.TransmitBytes,
		"PacketsReceived":        n.ReceivePackets,
		"PacketsSent":            n.TransmitPackets,
		"DroppedPacketsIncoming": n.ReceiveDrops,
		"DroppedPacketsOutgoing": n.TransmitDrops,
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
