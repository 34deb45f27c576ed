package main

import (
	"testing"
	"time"

	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

func TestRolloutNote(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		c    reconcile.ContainerStatus
		want string
	}{
		{"none", reconcile.ContainerStatus{}, ""},
		{"in progress", reconcile.ContainerStatus{Rollout: &reconcile.RolloutStatus{
			Order: spec.UpdateStartFirst, From: "web-1", To: "web-2", Began: now.Add(-time.Minute), Deadline: now.Add(4 * time.Minute)}},
			"rolling out start-first from web-1 to web-2 (fails in 4m0s unless ready)"},
		{"failed", reconcile.ContainerStatus{
			Conditions: []reconcile.Condition{{Type: reconcile.CondRolloutFailed, Message: "x"}},
			Rollout:    &reconcile.RolloutStatus{Order: spec.UpdateStartFirst, To: "web-2", Failed: "container web-2 exited with code 3 before it was ready"}},
			"RolloutFailed; rollout failed: container web-2 exited with code 3 before it was ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := note(tt.c, now); got != tt.want {
				t.Errorf("note = %q, want %q", got, tt.want)
			}
		})
	}
}
