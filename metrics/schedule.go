package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ScheduleInfo is what the metrics need to know of a scheduled spec's
// runs (reconcile.ScheduleStatus).
type ScheduleInfo struct {
	// LastRun and NextRun are zero when there was none or is none.
	LastRun, NextRun time.Time
	// LastExitCode is nil until a run exited.
	LastExitCode    *int
	Missed, Skipped int
}

// scheduleFamilies are the per-name series of scheduled specs, produced
// from the same snapshot as the container metrics.
type scheduleFamilies struct {
	lastRun, nextRun, lastExit, missed, skipped *family
}

func newScheduleFamilies() scheduleFamilies {
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	return scheduleFamilies{
		lastRun: newFamily(namespace+"_schedule_last_run_timestamp_seconds",
			"When the last run of a scheduled container began, in Unix seconds; absent before its first run.", gauge, "name"),
		nextRun: newFamily(namespace+"_schedule_next_run_timestamp_seconds",
			"When a scheduled container runs next, in Unix seconds; a value in the past means a due run has not started.", gauge, "name"),
		lastExit: newFamily(namespace+"_schedule_last_exit_code",
			"Exit code of the last run of a scheduled container; absent until a run exited.", gauge, "name"),
		missed: newFamily(namespace+"_schedule_missed_runs_total",
			"Runs of a scheduled container not made since the agent started because they were found later than its startingDeadline.", counter, "name"),
		skipped: newFamily(namespace+"_schedule_skipped_runs_total",
			"Runs of a scheduled container skipped since the agent started because the previous run still ran (concurrencyPolicy forbid).", counter, "name"),
	}
}

// collect hands emit the series of each scheduled container of snapshot,
// once per name.
func (d scheduleFamilies) collect(emit emitFunc, snapshot []ContainerInfo) {
	seen := make(map[string]bool)
	for _, ci := range snapshot {
		s := ci.Schedule
		if s == nil || seen[ci.Name] {
			continue
		}
		seen[ci.Name] = true
		if !s.LastRun.IsZero() {
			emit(d.lastRun, unixSeconds(s.LastRun), ci.Name)
		}
		if !s.NextRun.IsZero() {
			emit(d.nextRun, unixSeconds(s.NextRun), ci.Name)
		}
		if s.LastExitCode != nil {
			emit(d.lastExit, float64(*s.LastExitCode), ci.Name)
		}
		emit(d.missed, float64(s.Missed), ci.Name)
		emit(d.skipped, float64(s.Skipped), ci.Name)
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
