package driver

import (
	"context"
	"time"
)

// StatsReader is a driver that can tell what each running container uses:
// CPU time, memory, storage I/O and network traffic, as HCS counts them
// (the compute system's Statistics property and its HNS endpoints'
// statistics). The counters start at zero when the container starts and
// only grow while it runs.
type StatsReader interface {
	// Stats returns the statistics of the running containers of the
	// driver's owner, sorted by ID. A container that stops while they are
	// read is left out, not an error.
	Stats(ctx context.Context) ([]Stats, error)
}

// Stats is what one running container used, since it started.
type Stats struct {
	ID string `json:"id"`
	// Time is when the host took the numbers.
	Time    time.Time      `json:"time"`
	CPU     CPUStats       `json:"cpu"`
	Memory  MemoryStats    `json:"memory"`
	Storage StorageStats   `json:"storage"`
	Network []NetworkStats `json:"network,omitempty"`
	// Limits are the resources the container was created with; zero
	// means unlimited.
	Limits Resources `json:"limits,omitzero"`
}

// CPUStats is the CPU time a container's processes ran, on all processors
// together.
type CPUStats struct {
	Total  time.Duration `json:"total"`
	User   time.Duration `json:"user"`
	Kernel time.Duration `json:"kernel"`
}

// MemoryStats is a container's memory: the commit charge (memory its
// processes reserved, backed by RAM or the page file), its peak, and the
// private working set (RAM its processes use that no other process
// shares; what Task Manager and kubelet call a container's memory).
type MemoryStats struct {
	CommitBytes            uint64 `json:"commitBytes"`
	CommitPeakBytes        uint64 `json:"commitPeakBytes"`
	PrivateWorkingSetBytes uint64 `json:"privateWorkingSetBytes"`
}

// StorageStats is a container's storage I/O: operations (as HCS counts
// them, normalised to its I/O size) and bytes.
type StorageStats struct {
	ReadCount  uint64 `json:"readCount"`
	ReadBytes  uint64 `json:"readBytes"`
	WriteCount uint64 `json:"writeCount"`
	WriteBytes uint64 `json:"writeBytes"`
}

// NetworkStats is the traffic of one of a container's network endpoints,
// as the container sees it: received is inbound.
type NetworkStats struct {
	// Endpoint is the HNS endpoint's ID.
	Endpoint        string `json:"endpoint"`
	ReceiveBytes    uint64 `json:"receiveBytes"`
	TransmitBytes   uint64 `json:"transmitBytes"`
	ReceivePackets  uint64 `json:"receivePackets"`
	TransmitPackets uint64 `json:"transmitPackets"`
	ReceiveDrops    uint64 `json:"receiveDrops"`
	TransmitDrops   uint64 `json:"transmitDrops"`
}
