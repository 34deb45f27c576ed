package main

import (
	"testing"
	"time"

	"github.com/isoagent/isoagent/reconcile"
)

func TestConditionNote(t *testing.T) {
	for _, tt := range []struct {
		c    reconcile.Condition
		want string
	}{
		{reconcile.Condition{Type: reconcile.CondWaiting, Message: "waiting for db to start: it is created"}, "waiting for db to start: it is created"},
		{reconcile.Condition{Type: reconcile.CondCrashLoop, Message: "restarted 3 times; next restart at ..."}, "CrashLoopBackOff"},
	} {
		if got := conditionNote(tt.c); got != tt.want {
			t.Errorf("conditionNote(%v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestScheduleNote(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 30, 0, 0, time.UTC)
	zero, failed := 0, 2
	tests := []struct {
		name string
		s    reconcile.ScheduleStatus
		want string
	}{
		{"before the first run", reconcile.ScheduleStatus{TimeZone: "UTC", NextRun: now.Add(90 * time.Second)},
			"next run 2026-12-01 15:31 UTC (in 1m)"},
		{"ran and exited 0", reconcile.ScheduleStatus{TimeZone: "Europe/Berlin", LastRun: now.Add(-13 * time.Hour), LastExitCode: &zero, NextRun: now.Add(11 * time.Hour)},
			"last run 2026-12-01 03:30 CET exited 0, next run 2026-12-02 03:30 CET (in 11h)"},
		{"failed, late, missed", reconcile.ScheduleStatus{TimeZone: "UTC", LastRun: now.Add(-time.Hour), LastExitCode: &failed, NextRun: now.Add(-5 * time.Minute), Missed: 1, Skipped: 2},
			"last run 2026-12-01 14:30 UTC exited 2, next run 2026-12-01 15:25 UTC is late by 5m0s, 1 missed, 2 skipped"},
		{"running, no next run", reconcile.ScheduleStatus{TimeZone: "UTC", LastRun: now.Add(-time.Minute)},
			"last run 2026-12-01 15:29 UTC, no next run"},
	}
	for _, tt := range tests {
		if got := scheduleNote(&tt.s, now); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
