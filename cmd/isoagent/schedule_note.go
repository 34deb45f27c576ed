package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/isoagent/isoagent/reconcile"
)

// conditionNote is a container condition in the NOTE column: its type,
// or its message where that is the point (the dependency a container
// waits for; which container is kept, and whose spec to fix).
func conditionNote(c reconcile.Condition) string {
	switch c.Type {
	case reconcile.CondWaiting, reconcile.CondKeptRunning:
		return c.Message
	case reconcile.CondImagePullFailed:
		// What the registry said is what the operator acts on.
		if c.Message != "" {
			return string(c.Type) + ": " + c.Message
		}
	}
	return string(c.Type)
}

// scheduleNote is the NOTE of a scheduled container in `isoagent status`:
// when it ran last and how that ended, and when it runs next, in the
// schedule's time zone.
func scheduleNote(s *reconcile.ScheduleStatus, now time.Time) string {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		loc = time.UTC // an agent in another zone than this machine knows
	}
	const layout = "2006-01-02 15:04 MST"
	var parts []string
	if !s.LastRun.IsZero() {
		last := "last run " + s.LastRun.In(loc).Format(layout)
		if s.LastExitCode != nil {
			last += fmt.Sprintf(" exited %d", *s.LastExitCode)
		}
		parts = append(parts, last)
	}
	switch {
	case s.NextRun.IsZero():
		parts = append(parts, "no next run")
	case s.NextRun.Before(now):
		parts = append(parts, fmt.Sprintf("next run %s is late by %s", s.NextRun.In(loc).Format(layout), now.Sub(s.NextRun).Round(time.Second)))
	default:
		parts = append(parts, fmt.Sprintf("next run %s (in %s)", s.NextRun.In(loc).Format(layout), age(now, s.NextRun)))
	}
	if s.Missed > 0 {
		parts = append(parts, fmt.Sprintf("%d missed", s.Missed))
	}
	if s.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", s.Skipped))
	}
	return strings.Join(parts, ", ")
}
