package main

import (
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/health"
	"github.com/isoagent/isoagent/reconcile"
)

func TestStatusShowsHealth(t *testing.T) {
	failed := []health.Result{{OK: true, Output: "OK"}, {ExitCode: 22, Output: "curl: (22) The requested URL returned error: 503\nmore"}}
	tests := []struct {
		name      string
		health    *reconcile.HealthView
		wantState string
		wantNote  string
	}{
		{"no check", nil, "running", ""},
		{"healthy", &reconcile.HealthView{State: health.Healthy, Check: "http :80/ every 30s", Log: failed[:1]}, "running (healthy)", ""},
		{"starting", &reconcile.HealthView{State: health.Starting, Check: "tcp :1433 every 10s"}, "running (starting)", ""},
		{"unhealthy", &reconcile.HealthView{State: health.Unhealthy, Check: "exec curl -f http://localhost/ every 10s", FailingStreak: 3, Log: failed},
			"running (unhealthy)", "health check exec curl -f http://localhost/ every 10s failed 3 times in a row: curl: (22) The requested URL returned error: 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := reconcile.ContainerStatus{Name: "web", State: reconcile.StateRunning, Health: tt.health}
			if got := stateColumn(c); got != tt.wantState {
				t.Errorf("STATE = %q, want %q", got, tt.wantState)
			}
			got := note(c, time.Now())
			if tt.wantNote == "" && got != "" || !strings.Contains(got, tt.wantNote) || strings.Contains(got, "more") {
				t.Errorf("NOTE = %q, want %q", got, tt.wantNote)
			}
		})
	}
}
