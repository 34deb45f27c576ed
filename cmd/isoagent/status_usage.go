package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/isoagent/isoagent/reconcile"
)

// usageColumns are the columns of `isoagent status` that say what running
// containers use: CPU and MEMORY when the agent knows any container's
// usage (its driver tells), and with --wide also the CPU time, commit,
// storage and network. Each header and row ends with its tab, so they go
// in before NOTE, or nowhere.
type usageColumns struct{ show, wide bool }

func usageColumnsOf(st reconcile.Status, wide bool) usageColumns {
	for _, c := range st.Containers {
		if c.Usage != nil {
			return usageColumns{show: true, wide: wide}
		}
	}
	return usageColumns{}
}

func (u usageColumns) header() string {
	switch {
	case !u.show:
		return ""
	case u.wide:
		return "CPU\tMEMORY\tCPU TIME\tCOMMIT (PEAK)\tDISK READ/WRITE\tNET IN/OUT\t"
	}
	return "CPU\tMEMORY\t"
}

func (u usageColumns) row(c reconcile.ContainerStatus) string {
	if !u.show {
		return ""
	}
	n := 2
	if u.wide {
		n = 6
	}
	if c.Usage == nil {
		return strings.Repeat("-\t", n)
	}
	s := c.Usage
	cpu := "-"
	if s.CPUPercent != nil {
		cpu = fmt.Sprintf("%.1f%%", *s.CPUPercent)
	}
	// Memory is the private working set, what Task Manager shows, against
	// the limit when there is one.
	mem := ibytes(int64(s.Memory.PrivateWorkingSetBytes))
	if s.Limits.MemoryMB > 0 {
		limit := int64(s.Limits.MemoryMB) << 20
		mem += fmt.Sprintf(" / %s (%.0f%%)", ibytes(limit), float64(s.Memory.PrivateWorkingSetBytes)/float64(limit)*100)
	}
	if !u.wide {
		return cpu + "\t" + mem + "\t"
	}
	var rx, tx uint64
	for _, n := range s.Network {
		rx += n.ReceiveBytes
		tx += n.TransmitBytes
	}
	net := "-"
	if len(s.Network) > 0 {
		net = ibytes(int64(rx)) + " / " + ibytes(int64(tx))
	}
	return strings.Join([]string{
		cpu, mem,
		s.CPU.Total.Round(time.Millisecond).String(),
		ibytes(int64(s.Memory.CommitBytes)) + " (" + ibytes(int64(s.Memory.CommitPeakBytes)) + ")",
		ibytes(int64(s.Storage.ReadBytes)) + " / " + ibytes(int64(s.Storage.WriteBytes)),
		net,
	}, "\t") + "\t"
}

// ibytes formats n bytes in binary units, as memory limits are set
// (memoryMB: 512 is 512MiB).
func ibytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f%ciB", f, "KMGT"[i-1])
}
