package spec

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleParses(t *testing.T) {
	c := parseOne(t, doc(`schedule: "0 2 * * *"`, "timeZone: Europe/Berlin", "startingDeadline: 1h"))
	s := c.Spec
	if s.Schedule != "0 2 * * *" || s.TimeZone != "Europe/Berlin" || s.StartingDeadline != Duration(time.Hour) {
		t.Errorf("spec = %+v", s)
	}
	if s.RestartPolicy != RestartNever || s.ConcurrencyPolicy != ConcurrencyForbid {
		t.Errorf("defaults with a schedule: restartPolicy %s, concurrencyPolicy %s; want never, forbid", s.RestartPolicy, s.ConcurrencyPolicy)
	}
	plain := parseOne(t, doc())
	if plain.Spec.RestartPolicy != RestartAlways || plain.Spec.ConcurrencyPolicy != "" {
		t.Errorf("defaults without a schedule: restartPolicy %s, concurrencyPolicy %q; want always and none", plain.Spec.RestartPolicy, plain.Spec.ConcurrencyPolicy)
	}
}

func TestScheduleRejects(t *testing.T) {
	tests := []struct {
		name      string
		lines     []string
		wantField string
		wantMsg   string
	}{
		{"six fields", []string{`schedule: "0 0 2 * * *"`}, "spec.schedule", "has 6 fields; write five"},
		{"descriptor", []string{`schedule: "@daily"`}, "spec.schedule", "is a descriptor"},
		{"zone in the expression", []string{`schedule: "CRON_TZ=UTC 0 2 * * *"`}, "spec.schedule", "write the zone in timeZone"},
		{"out of range", []string{`schedule: "0 25 * * *"`}, "spec.schedule", "is not a cron expression"},
		{"no such day", []string{`schedule: "0 0 30 2 *"`}, "spec.schedule", "names no time that exists"},
		{"unknown zone", []string{`schedule: "0 2 * * *"`, "timeZone: Europe/Berln"}, "spec.timeZone", "is not an IANA time zone"},
		{"Local is not a zone", []string{`schedule: "0 2 * * *"`, "timeZone: Local"}, "spec.timeZone", "is not an IANA time zone"},
		{"concurrency unknown", []string{`schedule: "0 2 * * *"`, "concurrencyPolicy: allow"}, "spec.concurrencyPolicy", "is not one of forbid, replace"},
		{"deadline negative", []string{`schedule: "0 2 * * *"`, "startingDeadline: -1m"}, "spec.startingDeadline", "is negative"},
		{"restart always", []string{`schedule: "0 2 * * *"`, "restartPolicy: always"}, "spec.restartPolicy", "use never (the default with a schedule) or on-failure"},
		{"zone without a schedule", []string{"timeZone: UTC"}, "spec.timeZone", "applies only to a scheduled container"},
		{"deadline without a schedule", []string{"startingDeadline: 1h"}, "spec.startingDeadline", "applies only to a scheduled container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := doc(tt.lines...)
			_, err := Parse("web.yaml", []byte(src))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error\n%s", src)
			}
			for _, e := range Errors(err) {
				if e.Field == tt.wantField && strings.Contains(e.Message, tt.wantMsg) {
					if e.Line < 7 || e.Column == 0 {
						t.Errorf("error %q is at %d:%d, want on its field's line", e, e.Line, e.Column)
					}
					return
				}
			}
			t.Errorf("no error on field %q mentioning %q; got:\n%v", tt.wantField, tt.wantMsg, err)
		})
	}
}

// Next reads the expression in the schedule's zone, across a change to
// summer time, and answers in the caller's location.
func TestScheduleNext(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	tests := []struct {
		expr, tz string
		after    time.Time
		want     time.Time
	}{
		{"0 2 * * *", "UTC", time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)},
		{"0 2 * * *", "UTC", time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)},
		{"0 2 * * *", "Europe/Berlin", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)},
		// 02:30 does not exist in Berlin on 29 March 2026: robfig/cron skips
		// that day's run; the next is 02:30 CEST on the 30th.
		{"30 2 * * *", "Europe/Berlin", time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 0, 30, 0, 0, time.UTC)},
		// 02:30 exists twice in Berlin on 25 October 2026: it runs at both.
		{"30 2 * * *", "Europe/Berlin", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)},
		{"*/15 * * * MON-FRI", "UTC", time.Date(2026, 12, 5, 10, 7, 0, 0, time.UTC), time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		s, err := ParseSchedule(tt.expr, tt.tz)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Next(tt.after)
		if !got.Equal(tt.want) || got.Location() != tt.after.Location() {
			t.Errorf("%s in %s after %s = %s, want %s", tt.expr, tt.tz, tt.after, got, tt.want.In(berlin))
		}
	}
}
