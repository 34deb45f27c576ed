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

// scheduleDescs are the per-name series of scheduled specs, produced from
// the same snapshot as the container metrics.
type scheduleDescs struct {
	lastRun, nextRun, lastExit, missed, skipped *prometheus.Desc
}

func newScheduleDescs() scheduleDescs {
	name := []string{"name"}
	return scheduleDescs{
		lastRun: prometheus.NewDesc(namespace+"_schedule_last_run_timestamp_seconds",
			"When the last run of a scheduled container began, in Unix seconds; absent before its first run.", name, nil),
		nextRun: prometheus.NewDesc(namespace+"_schedule_next_run_timestamp_seconds",
			"When a scheduled container runs next, in Unix seconds; a value in the past means a due run has not started.", name, nil),
		lastExit: prometheus.NewDesc(namespace+"_schedule_last_exit_code",
			"Exit code of the last run of a scheduled container; absent until a run exited.", name, nil),
		missed: prometheus.NewDesc(namespace+"_schedule_missed_runs_total",
			"Runs of a scheduled container not made since the agent started because they were found later than its startingDeadline.", name, nil),
		skipped: prometheus.NewDesc(namespace+"_schedule_skipped_runs_total",
			"Runs of a scheduled container skipped since the agent started because the previous run still ran (concurrencyPolicy forbid).", name, nil),
	}
}

func (d scheduleDescs) describe(ch chan<- *prometheus.Desc) {
	ch <- d.lastRun
	ch <- d.nextRun
	ch <- d.lastExit
	ch <- d.missed
	ch <- d.skipped
}

// collect sends the series of each scheduled container of snapshot, once
// per name.
func (d scheduleDescs) collect(ch chan<- prometheus.Metric, snapshot []ContainerInfo) {
	seen := make(map[string]bool)
	for _, ci := range snapshot {
		s := ci.Schedule
		if s == nil || seen[ci.Name] {
			continue
		}
		seen[ci.Name] = true
		if !s.LastRun.IsZero() {
			ch <- prometheus.MustNewConstMetric(d.lastRun, prometheus.GaugeValue, unixSeconds(s.LastRun), ci.Name)
		}
		if !s.NextRun.IsZero() {
			ch <- prometheus.MustNewConstMetric(d.nextRun, prometheus.GaugeValue, unixSeconds(s.NextRun), ci.Name)
		}
		if s.LastExitCode != nil {
			ch <- prometheus.MustNewConstMetric(d.lastExit, prometheus.GaugeValue, float64(*s.LastExitCode), ci.Name)
		}
		ch <- prometheus.MustNewConstMetric(d.missed, prometheus.CounterValue, float64(s.Missed), ci.Name)
		ch <- prometheus.MustNewConstMetric(d.skipped, prometheus.CounterValue, float64(s.Skipped), ci.Name)
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
