package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/isoagent/isoagent/reconcile"
)

// A scheduled container's runs are series of its name, from the same
// snapshot as the container metrics: absent what is not known yet.
func TestScheduleMetrics(t *testing.T) {
	m, reg := newTest(t)
	failed := 3
	m.SetContainerSource(func() []ContainerInfo {
		return []ContainerInfo{
			{Name: "web", Isolation: "process", State: reconcile.StateRunning, Desired: true, Running: true},
			{Name: "fresh", Isolation: "process", State: reconcile.StateScheduled, Schedule: &ScheduleInfo{NextRun: time.Unix(1700000060, 0)}},
			{Name: "report", Isolation: "process", State: reconcile.StateExited, Schedule: &ScheduleInfo{
				LastRun: time.Unix(1700000000, 500e6), NextRun: time.Unix(1700086400, 0), LastExitCode: &failed, Missed: 2, Skipped: 1}},
		}
	})
	const want = `
# HELP isoagent_schedule_last_exit_code Exit code of the last run of a scheduled container; absent until a run exited.
# TYPE isoagent_schedule_last_exit_code gauge
isoagent_schedule_last_exit_code{name="report"} 3
# HELP isoagent_schedule_last_run_timestamp_seconds When the last run of a scheduled container began, in Unix seconds; absent before its first run.
# TYPE isoagent_schedule_last_run_timestamp_seconds gauge
isoagent_schedule_last_run_timestamp_seconds{name="report"} 1.7000000005e+09
# HELP isoagent_schedule_missed_runs_total Runs of a scheduled container not made since the agent started because they were found later than its startingDeadline.
# TYPE isoagent_schedule_missed_runs_total counter
isoagent_schedule_missed_runs_total{name="fresh"} 0
isoagent_schedule_missed_runs_total{name="report"} 2
# HELP isoagent_schedule_next_run_timestamp_seconds When a scheduled container runs next, in Unix seconds; a value in the past means a due run has not started.
# TYPE isoagent_schedule_next_run_timestamp_seconds gauge
isoagent_schedule_next_run_timestamp_seconds{name="fresh"} 1.70000006e+09
isoagent_schedule_next_run_timestamp_seconds{name="report"} 1.7000864e+09
# HELP isoagent_schedule_skipped_runs_total Runs of a scheduled container skipped since the agent started because the previous run still ran (concurrencyPolicy forbid).
# TYPE isoagent_schedule_skipped_runs_total counter
isoagent_schedule_skipped_runs_total{name="fresh"} 0
isoagent_schedule_skipped_runs_total{name="report"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"isoagent_schedule_last_exit_code", "isoagent_schedule_last_run_timestamp_seconds", "isoagent_schedule_missed_runs_total",
		"isoagent_schedule_next_run_timestamp_seconds", "isoagent_schedule_skipped_runs_total"); err != nil {
		t.Error(err)
	}
}
