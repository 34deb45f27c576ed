package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/isoagent/isoagent/reconcile"
)

// TestConditionGauges pins isoagent_condition and
// isoagent_container_conditions: every kind at 0 until it holds, 1 (or
// the number of containers) while it does, back to 0 when it ends.
func TestConditionGauges(t *testing.T) {
	m, reg := newTest(t)
	var holding []reconcile.Condition
	m.SetConditionSource(func() []reconcile.Condition { return holding })
	var infos []ContainerInfo
	m.SetContainerSource(func() []ContainerInfo { return infos })

	value := func(metric, kind string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != metric {
				continue
			}
			for _, s := range mf.GetMetric() {
				if s.GetLabel()[0].GetValue() == kind {
					return s.GetGauge().GetValue()
				}
			}
		}
		t.Fatalf("no %s{kind=%q}", metric, kind)
		return 0
	}

	for _, k := range reconcile.EngineConditionTypes() {
		if v := value("isoagent_condition", string(k)); v != 0 {
			t.Errorf("isoagent_condition{kind=%q} = %v before anything holds, want 0", k, v)
		}
	}
	holding = []reconcile.Condition{{Type: reconcile.CondEmptyIgnored, Message: "the folder declares no specs"}, {Type: reconcile.CondPolicyInvalid, Message: "p.yaml:1:1: bad"}}
	infos = []ContainerInfo{
		{Name: "a", State: reconcile.StateExited, Conditions: []reconcile.ConditionType{reconcile.CondCrashLoop}},
		{Name: "b", State: reconcile.StateExited, Conditions: []reconcile.ConditionType{reconcile.CondCrashLoop}},
		{Name: "c", State: reconcile.StatePulling, Conditions: []reconcile.ConditionType{reconcile.CondImagePullFailed, reconcile.CondKeptRunning}},
	}
	for kind, want := range map[reconcile.ConditionType]float64{reconcile.CondEmptyIgnored: 1, reconcile.CondPolicyInvalid: 1, reconcile.CondLoadFailed: 0, reconcile.CondHostNotListed: 0} {
		if v := value("isoagent_condition", string(kind)); v != want {
			t.Errorf("isoagent_condition{kind=%q} = %v, want %v", kind, v, want)
		}
	}
	for kind, want := range map[reconcile.ConditionType]float64{reconcile.CondCrashLoop: 2, reconcile.CondImagePullFailed: 1, reconcile.CondKeptRunning: 1, reconcile.CondWaiting: 0} {
		if v := value("isoagent_container_conditions", string(kind)); v != want {
			t.Errorf("isoagent_container_conditions{kind=%q} = %v, want %v", kind, v, want)
		}
	}
	// Secrets or paths in a condition's message never become a label.
	if n, err := testutil.GatherAndCount(reg, "isoagent_condition"); err != nil || n != len(reconcile.EngineConditionTypes()) {
		t.Errorf("isoagent_condition has %d series (%v), want one per kind", n, err)
	}
	holding = nil
	if v := value("isoagent_condition", string(reconcile.CondPolicyInvalid)); v != 0 {
		t.Errorf("isoagent_condition{kind=PolicyInvalid} = %v after it ended, want 0", v)
	}
}
