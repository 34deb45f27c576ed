package spec

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ConcurrencyPolicy says what a scheduled run does when the previous run
// is still running, as a Kubernetes CronJob's does.
type ConcurrencyPolicy string

// Concurrency policies.
const (
	// ConcurrencyForbid skips the run: the one in progress goes on.
	ConcurrencyForbid ConcurrencyPolicy = "forbid"
	// ConcurrencyReplace stops the run in progress and starts the new one.
	ConcurrencyReplace ConcurrencyPolicy = "replace"
)

// Schedule is a parsed spec.schedule in its time zone.
type Schedule struct {
	expr string
	s    cron.Schedule
	loc  *time.Location
}

// ParseSchedule parses expr, a cron expression of five fields, to be read
// in the IANA time zone tz ("" for the host's local time). The parsing is
// robfig/cron's: lists, ranges, steps and names (MON, JAN) work.
func ParseSchedule(expr, tz string) (Schedule, error) {
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return Schedule{}, fmt.Errorf("%q names its time zone in the expression; write the zone in timeZone instead", expr)
	}
	if strings.HasPrefix(strings.TrimSpace(expr), "@") {
		return Schedule{}, fmt.Errorf("%q is a descriptor; write five fields (minute hour day-of-month month day-of-week), such as \"0 2 * * *\" for @daily", expr)
	}
	if n := len(strings.Fields(expr)); n != 5 {
		return Schedule{}, fmt.Errorf("%q has %d fields; write five (minute hour day-of-month month day-of-week), such as \"0 2 * * *\"", expr, n)
	}
	loc := time.Local
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return Schedule{}, fmt.Errorf("time zone %q: %w; give an IANA zone such as Europe/Berlin, or leave timeZone out for the host's local time", tz, err)
		}
		loc = l
	}
	// The five standard fields, without descriptors or seconds.
	s, err := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow).Parse(expr)
	if err != nil {
		return Schedule{}, fmt.Errorf("%q is not a cron expression: %w", expr, err)
	}
	if ss, ok := s.(*cron.SpecSchedule); ok {
		ss.Location = loc
	}
	return Schedule{expr: expr, s: s, loc: loc}, nil
}

// Next returns the first time after t that the schedule names, in t's
// location; the zero time when there is none (such as "0 0 30 2 *").
func (s Schedule) Next(t time.Time) time.Time { return s.s.Next(t) }

// Location is the time zone the schedule is read in.
func (s Schedule) Location() *time.Location { return s.loc }

// String returns the expression as written.
func (s Schedule) String() string { return s.expr }

// schedule checks spec.schedule and the fields that go with it.
func (v *validator) schedule(s *Spec) {
	if s.Schedule == "" {
		for field, set := range map[string]bool{
			"spec.timeZone":          s.TimeZone != "",
			"spec.concurrencyPolicy": s.ConcurrencyPolicy != "",
			"spec.startingDeadline":  s.StartingDeadline != 0,
		} {
			if set {
				v.errorf(field, "applies only to a scheduled container; add a schedule such as \"0 2 * * *\" or remove it")
			}
		}
		return
	}
	if sched, err := ParseSchedule(s.Schedule, ""); err != nil {
		v.errorf("spec.schedule", "%v", err)
	} else if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		v.errorf("spec.schedule", "%q names no time that exists (such as February 30th); give a date that does", s.Schedule)
	}
	if s.TimeZone != "" {
		if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "Local" {
			v.errorf("spec.timeZone", "%q is not an IANA time zone; give one such as Europe/Berlin or UTC, or leave timeZone out for the host's local time", s.TimeZone)
		}
	}
	v.enum("spec.concurrencyPolicy", string(s.ConcurrencyPolicy), string(ConcurrencyForbid), string(ConcurrencyReplace))
	if s.StartingDeadline < 0 {
		v.errorf("spec.startingDeadline", "%s is negative; give a duration such as 1h", s.StartingDeadline)
	}
	if s.RestartPolicy == RestartAlways {
		v.errorf("spec.restartPolicy", "always would keep a scheduled container running between its runs; use never (the default with a schedule) or on-failure to retry a failed run")
	}
}
