package reconcile

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

func at(h, m int) time.Time { return time.Date(2026, 12, 1, h, m, 0, 0, time.UTC) }

func mustSchedule(t *testing.T, expr string) spec.Schedule {
	t.Helper()
	s, err := spec.ParseSchedule(expr, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLatestDue(t *testing.T) {
	tests := []struct {
		expr       string
		since, now time.Time
		want       time.Time
	}{
		{"0 2 * * *", at(1, 0), at(1, 59), time.Time{}},
		{"0 2 * * *", at(1, 0), at(2, 0), at(2, 0)},
		{"0 2 * * *", at(2, 0), at(2, 30), time.Time{}},
		{"0 2 * * *", at(1, 0).AddDate(0, 0, -30), at(3, 0), at(2, 0)}, // a month down: the latest
		{"* * * * *", at(0, 0).AddDate(-1, 0, 0), at(10, 17), at(10, 17)},
		{"*/15 * * * *", at(10, 1), at(11, 59), at(11, 45)},
		{"0 0 1 1 *", at(0, 0).AddDate(-3, 0, 0), at(10, 0), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		if got := latestDue(mustSchedule(t, tt.expr), tt.since, tt.now); !got.Equal(tt.want) {
			t.Errorf("latestDue(%q, %s, %s) = %s, want %s", tt.expr, tt.since, tt.now, got, tt.want)
		}
	}
}

func scheduledSpec(name string, edit ...func(*spec.Spec)) *spec.Container {
	return ctr(name, img2022, append([]func(*spec.Spec){func(s *spec.Spec) {
		s.Schedule, s.TimeZone = "0 2 * * *", "UTC"
		s.RestartPolicy, s.ConcurrencyPolicy = spec.RestartNever, spec.ConcurrencyForbid
		s.Command = []string{"cmd", "/c", "exit", "0"}
	}}, edit...)...)
}

func admitOne(t *testing.T, c *spec.Container) *Decision {
	t.Helper()
	ds := Admit(context.Background(), server(20348), nil, []*spec.Container{c}, AdmitOptions{})
	if !ds[0].Admitted() {
		t.Fatalf("rejected: %v", ds[0].Rejection)
	}
	return &ds[0]
}

func TestPlanScheduled(t *testing.T) {
	d := admitOne(t, scheduledSpec("job"))
	onFailure := admitOne(t, scheduledSpec("job", func(s *spec.Spec) { s.RestartPolicy = spec.RestartOnFailure }))
	cur := func(d *Decision, s driver.State, code int) driver.Container {
		return driver.Container{ID: d.Config.ID, Hash: d.Config.Hash, Name: "job", State: s, ExitCode: code}
	}
	old := func(s driver.State) driver.Container {
		return driver.Container{ID: "job-old", Hash: "old", Name: "job", State: s}
	}
	due := runNow{due: true, at: at(2, 0)}
	tests := []struct {
		name   string
		d      *Decision
		actual []driver.Container
		run    runNow
		want   string
	}{
		{"before the first run", d, nil, runNow{}, ""},
		{"the first run", d, nil, due, "create job"},
		{"between runs", d, []driver.Container{cur(d, driver.StateExited, 0)}, runNow{}, ""},
		{"a failed run, restartPolicy never", d, []driver.Container{cur(d, driver.StateExited, 1)}, runNow{}, ""},
		{"a failed run, restartPolicy on-failure", onFailure, []driver.Container{cur(onFailure, driver.StateExited, 1)}, runNow{}, "start job (restart)"},
		{"the next run", d, []driver.Container{cur(d, driver.StateExited, 0)}, due, "start job"},
		{"a run that replaces one in progress", d, []driver.Container{cur(d, driver.StateRunning, 0)}, runNow{due: true, at: at(2, 0), replace: true}, "stop job, start job"},
		{"the spec changed: an exited old container goes", d, []driver.Container{old(driver.StateExited)}, runNow{}, "remove job-old"},
		{"the spec changed: an old run in progress ends first", d, []driver.Container{old(driver.StateRunning)}, runNow{}, ""},
		{"the spec changed: a run replaces the old one", d, []driver.Container{old(driver.StateRunning)}, runNow{due: true, at: at(2, 0), replace: true}, "stop job-old, remove job-old, create job"},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range planScheduled("job", tt.d, tt.actual, tt.run) {
			s := string(a.Kind) + " "
			if a.ID == tt.d.Config.ID {
				s += "job"
			} else {
				s += a.ID
			}
			if a.Restart {
				s += " (restart)"
			}
			got = append(got, s)
		}
		if g := strings.Join(got, ", "); g != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, g, tt.want)
		}
	}
}

// decide finds the run due from what the containers' records say, so a
// new scheduler (an agent restarted) finds the runs it missed.
func TestSchedulerDecides(t *testing.T) {
	withDeadline := func(d time.Duration) func(*spec.Spec) {
		return func(s *spec.Spec) { s.StartingDeadline = spec.Duration(d) }
	}
	replace := func(s *spec.Spec) { s.ConcurrencyPolicy = spec.ConcurrencyReplace }
	exitedAt := func(d *Decision, start time.Time) []driver.Container {
		return []driver.Container{{ID: d.Config.ID, Hash: d.Config.Hash, State: driver.StateExited, StartedAt: start, FinishedAt: start.Add(time.Minute)}}
	}
	runningSince := func(d *Decision, start time.Time) []driver.Container {
		return []driver.Container{{ID: d.Config.ID, Hash: d.Config.Hash, State: driver.StateRunning, StartedAt: start}}
	}
	yesterday := func(h, m int) time.Time { return at(h, m).AddDate(0, 0, -1) }
	tests := []struct {
		name    string
		edit    []func(*spec.Spec)
		actual  func(*Decision) []driver.Container
		now     time.Time
		due     bool
		replace bool
		event   string
	}{
		{"first seen before the run time", nil, nil, at(1, 0), false, false, ""},
		{"first seen after the run time: not run for a day it did not see", nil, nil, at(3, 0), false, false, ""},
		{"ran yesterday, now is the time", nil, func(d *Decision) []driver.Container { return exitedAt(d, yesterday(2, 0)) }, at(2, 0), true, false, ""},
		{"ran yesterday, missed today, no deadline", nil, func(d *Decision) []driver.Container { return exitedAt(d, yesterday(2, 0)) }, at(9, 0), true, false, ""},
		{"missed today within the deadline", []func(*spec.Spec){withDeadline(8 * time.Hour)}, func(d *Decision) []driver.Container { return exitedAt(d, yesterday(2, 0)) }, at(9, 0), true, false, ""},
		{"missed today past the deadline", []func(*spec.Spec){withDeadline(time.Hour)}, func(d *Decision) []driver.Container { return exitedAt(d, yesterday(2, 0)) }, at(9, 0), false, false, "past startingDeadline 1h0m0s"},
		{"ran today already", nil, func(d *Decision) []driver.Container { return exitedAt(d, at(2, 0)) }, at(9, 0), false, false, ""},
		{"yesterday's run still runs, forbid", nil, func(d *Decision) []driver.Container { return runningSince(d, yesterday(2, 0)) }, at(2, 0), false, false, "still runs (concurrencyPolicy forbid)"},
		{"yesterday's run still runs, replace", []func(*spec.Spec){replace}, func(d *Decision) []driver.Container { return runningSince(d, yesterday(2, 0)) }, at(2, 0), true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := admitOne(t, scheduledSpec("job", tt.edit...))
			var actual []driver.Container
			if tt.actual != nil {
				actual = tt.actual(d)
			}
			s := newScheduler(func(string) {})
			run, event, err := s.decide("job", d, actual, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if run.due != tt.due || run.replace != tt.replace || !strings.Contains(event, tt.event) || (tt.event == "") != (event == "") {
				t.Errorf("decide = %+v, %q; want due %v replace %v, event %q", run, event, tt.due, tt.replace, tt.event)
			}
			if run.due && !run.at.Equal(at(2, 0)) {
				t.Errorf("due run at %s, want %s", run.at, at(2, 0))
			}
			// Asked again at once, nothing is due twice.
			s.ran("job", tt.now)
			if again, _, _ := s.decide("job", d, actual, tt.now); again.due && !tt.replace {
				t.Errorf("due again right after: %+v", again)
			}
		})
	}
}

// A job every minute runs on the minute, exits, and is started again at
// the next; status and its schedule say when it ran, how it ended and when
// it runs next; the engine is converged between runs.
func TestEngineRunsAScheduledJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		job := scheduledSpec("report", func(s *spec.Spec) { s.Schedule = "* * * * *" })
		drv := openSim(t, "")
		r := start(t, drv, snapshot(job))
		t0 := time.Now() // 2000-01-01T00:00:00Z in the bubble
		r.waitConverged()
		if cs := r.containers(); len(cs) != 0 {
			t.Fatalf("containers before the first run: %v", cs)
		}
		st := r.status("report")
		if st.State != StateScheduled || st.Schedule == nil || !st.Schedule.NextRun.Equal(t0.Add(time.Minute)) || st.Schedule.TimeZone != "UTC" {
			t.Fatalf("status before the first run: %s %+v, want scheduled for %s", st.State, st.Schedule, t0.Add(time.Minute))
		}
		for run := 1; run <= 3; run++ {
			r.settle(time.Minute)
			r.eng.relist(context.Background(), false) // the exit of "cmd /c exit 0"
			r.waitConverged()
			c := r.containers()["report"]
			if c.State != driver.StateExited || c.ExitCode != 0 || !c.StartedAt.Equal(t0.Add(time.Duration(run)*time.Minute)) {
				t.Fatalf("run %d: %+v, want exited 0, started at %s", run, c, t0.Add(time.Duration(run)*time.Minute))
			}
			st := r.status("report")
			ss := st.Schedule
			if st.State != StateExited || ss.LastExitCode == nil || *ss.LastExitCode != 0 || !ss.LastRun.Equal(c.StartedAt) || !ss.NextRun.Equal(t0.Add(time.Duration(run+1)*time.Minute)) {
				t.Errorf("run %d: status %s %+v", run, st.State, ss)
			}
		}
		if got := r.rec.counts(); got != "create=1 start=3 stop=0 remove=0" {
			t.Errorf("actions %s, want one create (with its start) and two starts again", got)
		}
	})
}

// The last run survives the agent: a new engine on the same host finds
// the run it missed while down and runs it once when within
// startingDeadline, and counts it missed otherwise.
func TestEngineCatchesUpAMissedRun(t *testing.T) {
	for _, tt := range []struct {
		deadline time.Duration
		runs     bool
	}{{0, true}, {2 * time.Hour, true}, {30 * time.Minute, false}} {
		t.Run(fmt.Sprintf("deadline %s", tt.deadline), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				job := scheduledSpec("report", func(s *spec.Spec) {
					s.Schedule = "0 * * * *" // hourly
					s.StartingDeadline = spec.Duration(tt.deadline)
				})
				drv := openSim(t, dir)
				r := start(t, drv, snapshot(job))
				r.settle(time.Hour) // 01:00: the first run
				r.waitConverged()
				first := r.containers()["report"].StartedAt
				r.stop()

				r.settle(2*time.Hour - time.Minute) // down over 02:00, back at 02:59
				drv = openSim(t, dir)
				r = start(t, drv, snapshot(job))
				r.waitConverged()
				c := r.containers()["report"]
				ss := r.status("report").Schedule
				if ran := c.StartedAt.After(first); ran != tt.runs {
					t.Errorf("started at %s after the first run at %s: ran %v, want %v", c.StartedAt, first, ran, tt.runs)
				}
				if missed := ss.Missed == 1; missed == tt.runs {
					t.Errorf("schedule status %+v, want missed %v", ss, !tt.runs)
				}
				if want := first.Add(2 * time.Hour); !ss.NextRun.Equal(want) {
					t.Errorf("next run %s, want %s", ss.NextRun, want)
				}
			})
		})
	}
}
