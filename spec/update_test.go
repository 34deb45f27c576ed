package spec

import (
	"strings"
	"testing"
	"time"
)

func TestUpdateDefaultsAndValues(t *testing.T) {
	monitor := func(d time.Duration) *Duration { m := Duration(d); return &m }
	fiveSeconds := monitor(5 * time.Second)
	tests := []struct {
		name  string
		lines []string
		want  UpdatePolicy
	}{
		{"left out", nil, UpdatePolicy{Order: UpdateStartFirst, Timeout: Duration(5 * time.Minute), Monitor: fiveSeconds}},
		{"stop-first", []string{"update: {order: stop-first}"}, UpdatePolicy{Order: UpdateStopFirst, Timeout: Duration(5 * time.Minute), Monitor: fiveSeconds}},
		{"timeout only", []string{"update: {timeout: 90s}"}, UpdatePolicy{Order: UpdateStartFirst, Timeout: Duration(90 * time.Second), Monitor: fiveSeconds}},
		{"both", []string{"update:", "  order: start-first", "  timeout: 2m"}, UpdatePolicy{Order: UpdateStartFirst, Timeout: Duration(2 * time.Minute), Monitor: fiveSeconds}},
		{"monitor", []string{"update: {monitor: 30s}"}, UpdatePolicy{Order: UpdateStartFirst, Timeout: Duration(5 * time.Minute), Monitor: monitor(30 * time.Second)}},
		{"monitor 0s is kept", []string{"update: {monitor: 0s}"}, UpdatePolicy{Order: UpdateStartFirst, Timeout: Duration(5 * time.Minute), Monitor: monitor(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseOne(t, doc(tt.lines...))
			if !c.Spec.Update.Equal(tt.want) {
				t.Errorf("update = %+v (monitor %v), want %+v (monitor %v)", c.Spec.Update, c.Spec.Update.MonitorOrDefault(), tt.want, tt.want.MonitorOrDefault())
			}
		})
	}
	// A scheduled container has no rollout: nothing is filled in.
	c := parseOne(t, doc(`schedule: "0 2 * * *"`))
	if !c.Spec.Update.IsZero() {
		t.Errorf("scheduled: update = %+v, want none", c.Spec.Update)
	}
}

func TestUpdateRejects(t *testing.T) {
	tests := []struct {
		name      string
		lines     []string
		wantField string
		wantMsg   string
	}{
		{"unknown order", []string{"update: {order: rolling}"}, "spec.update.order", `"rolling" is not one of start-first, stop-first`},
		{"misspelt order", []string{"update: {order: startfirst}"}, "spec.update.order", "did you mean start-first?"},
		{"timeout a number", []string{"update: {timeout: 300}"}, "spec.update.timeout", "such as"},
		{"timeout negative", []string{"update: {timeout: -1m}"}, "spec.update.timeout", "negative"},
		{"monitor negative", []string{"update: {monitor: -5s}"}, "spec.update.monitor", "-5s is negative; give a duration such as 5s, or 0s"},
		{"monitor a number", []string{"update: {monitor: 5}"}, "spec.update.monitor", "such as"},
		{"monitor with a schedule", []string{`schedule: "0 2 * * *"`, "update: {monitor: 0s}"}, "spec.update", "applies only to a container kept running"},
		{"unknown key", []string{"update: {parallelism: 2}"}, "spec.update.parallelism", "known fields here are monitor, order, timeout"},
		{"not a mapping", []string{"update: start-first"}, "spec.update", "must be a mapping"},
		{"with a schedule", []string{`schedule: "0 2 * * *"`, "update: {order: stop-first}"}, "spec.update", "applies only to a container kept running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("web.yaml", []byte(doc(tt.lines...)))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, e := range Errors(err) {
				if e.Field == tt.wantField && strings.Contains(e.Message, tt.wantMsg) {
					if e.Line == 0 {
						t.Errorf("error %q is not located", e)
					}
					return
				}
			}
			t.Errorf("no error on %q mentioning %q; got:\n%v", tt.wantField, tt.wantMsg, err)
		})
	}
}
