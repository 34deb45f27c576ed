package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/reconcile"
)

// The status table shows a pull's progress while the container it
// replaces runs, and the failure of one that failed.
func TestStatusShowsPulls(t *testing.T) {
	tests := []struct {
		name string
		pull reconcile.PullState
		cond []reconcile.Condition
		want string
	}{
		{"manifest not in yet", reconcile.PullState{Pulling: true}, nil, "pulling"},
		{"bytes in", reconcile.PullState{Pulling: true, BytesDone: 12_300_000, BytesTotal: 41_000_000}, nil, "pulled 12.3MB of 41.0MB (30%)"},
		{"waiting for a slot", reconcile.PullState{Pulling: true, Queued: true}, nil, "waiting for a free pull slot"},
		{"failed", reconcile.PullState{Error: "the registry is unavailable"}, []reconcile.Condition{{Type: reconcile.CondImagePullFailed}}, "ImagePullFailed"},
		{"failed, with the registry's words", reconcile.PullState{Error: "unauthorized"},
			[]reconcile.Condition{{Type: reconcile.CondImagePullFailed, Message: "pulling app:1 failed 2 times: unauthorized: authentication required"}},
			"ImagePullFailed: pulling app:1 failed 2 times: unauthorized: authentication required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.pull
			st := reconcile.Status{Containers: []reconcile.ContainerStatus{{Name: "web", State: reconcile.StatePulling, Pull: &p, Conditions: tt.cond}}}
			var b bytes.Buffer
			printStatus(&b, st, time.Now(), false)
			// The row, and its note written under it.
			lines := strings.Split(b.String(), "\n")
			row, rest := lines[2], strings.Join(lines[2:], "\n")
			if !strings.Contains(row, "pulling") || !strings.Contains(rest, tt.want) {
				t.Errorf("status row %q and note %q, want state pulling and %q", row, rest, tt.want)
			}
		})
	}
}
