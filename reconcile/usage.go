package reconcile

import "github.com/isoagent/isoagent/driver"

// Usage is what a running container uses, as the agent last sampled it
// from a driver that tells (driver.StatsReader). The engine leaves it
// empty; package agent fills it in for /status.
type Usage struct {
	driver.Stats
	// CPUPercent is the CPU time the container ran between the last two
	// samples over the time between them, in percent of one processor
	// (200 is two processors busy); nil until there are two samples of
	// the same run.
	CPUPercent *float64 `json:"cpuPercent,omitempty"`
}
