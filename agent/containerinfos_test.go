package agent

import (
	"testing"

	"github.com/isoagent/isoagent/reconcile"
)

// TestContainerInfosLeaveOutSpecsForOtherHosts pins that the per-container
// metrics (and so the rejection alert) do not count a spec meant for other
// hosts as rejected, while a real refusal and a container being removed
// because its spec no longer applies are still reported.
func TestContainerInfosLeaveOutSpecsForOtherHosts(t *testing.T) {
	st := reconcile.Status{Containers: []reconcile.ContainerStatus{
		{Name: "gpu", State: reconcile.StateElsewhere, RequestedIsolation: "process",
			Rejection: &reconcile.Rejection{Reason: reconcile.ReasonNotForThisHost}},
		{Name: "legacy", State: reconcile.StateRejected, RequestedIsolation: "process",
			Rejection: &reconcile.Rejection{Reason: reconcile.ReasonVersionMismatch}},
		{Name: "moved", State: reconcile.StateRemoving, EffectiveIsolation: "process",
			Rejection: &reconcile.Rejection{Reason: reconcile.ReasonNotForThisHost}},
	}}
	got := map[string]reconcile.State{}
	for _, ci := range containerInfos(st) {
		got[ci.Name] = ci.State
	}
	want := map[string]reconcile.State{"gpu": reconcile.StateElsewhere, "legacy": reconcile.StateRejected, "moved": reconcile.StateRemoving}
	if len(got) != len(want) {
		t.Fatalf("containerInfos reported %v, want %v", got, want)
	}
	for name, state := range want {
		if got[name] != state {
			t.Errorf("container %s: state %q, want %q (all: %v)", name, got[name], state, got)
		}
	}
}

// A container waiting out its crash backoff, for a dependency or for its
// image is wanted running, and counts as desired but not running; one its
// policy leaves exited, or a scheduled job between its runs, is not wanted.
func TestContainerInfosCountABackoffAsDesired(t *testing.T) {
	one := 1
	st := reconcile.Status{Containers: []reconcile.ContainerStatus{
		{Name: "looping", State: reconcile.StateExited, EffectiveIsolation: "process", ExitCode: &one,
			Conditions: []reconcile.Condition{{Type: reconcile.CondCrashLoop}}, LastExit: &reconcile.LastExit{Code: 1, Reason: reconcile.ExitFailed}},
		{Name: "done", State: reconcile.StateExited, EffectiveIsolation: "process", ExitCode: &one},
		{Name: "web", State: reconcile.StateRunning, EffectiveIsolation: "process"},
		{Name: "api", State: reconcile.StateWaiting, EffectiveIsolation: "process",
			Conditions: []reconcile.Condition{{Type: reconcile.CondWaiting, Message: "waits for db to start"}}},
		{Name: "pulling", State: reconcile.StatePulling, EffectiveIsolation: "process"},
		// Its registry has not answered yet: admission chose no isolation.
		{Name: "looking-up", State: reconcile.StatePulling, RequestedIsolation: "hyperv",
			Rejection: &reconcile.Rejection{Reason: reconcile.ReasonImagePull, Retry: true}},
		{Name: "report", State: reconcile.StateScheduled, EffectiveIsolation: "process"},
		{Name: "report-done", State: reconcile.StateExited, EffectiveIsolation: "process", ExitCode: new(0),
			Schedule: &reconcile.ScheduleStatus{}},
	}}
	tests := map[string]struct {
		desired, running bool
		lastExit         *int
	}{
		"looping": {true, false, &one},
		"done":    {false, false, nil},
		"web":     {true, true, nil},
		// Waiting for a dependency or an image, it is missing.
		"api":        {true, false, nil},
		"pulling":    {true, false, nil},
		"looking-up": {true, false, nil},
		// A scheduled job between its runs is not missing.
		"report":      {false, false, nil},
		"report-done": {false, false, nil},
	}
	if got := containerInfos(st); len(got) != len(tests) {
		t.Fatalf("containerInfos reported %d containers, want %d", len(got), len(tests))
	}
	for _, ci := range containerInfos(st) {
		want := tests[ci.Name]
		if ci.Desired != want.desired || ci.Running != want.running || (ci.LastExitCode == nil) != (want.lastExit == nil) {
			t.Errorf("%s: desired %v running %v last exit %v; want %v, %v, %v", ci.Name, ci.Desired, ci.Running, ci.LastExitCode, want.desired, want.running, want.lastExit)
		}
	}
}
