package agent

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/reconcile"
)

const denyAllPolicy = "apiVersion: isoagent/v1\nkind: Policy\n"

// testResync is the agent's resync in these tests: how often, in the fake
// time of a synctest bubble, it reads the policy file.
const testResync = 5 * time.Second

// startAgent runs an agent over a simulated host in memory until the test
// ends. The folder and the policy file are polled, so that everything the
// agent waits on is a timer or a channel and the test runs in fake time.
func startAgent(t *testing.T, cfg Config) *Agent {
	t.Helper()
	if cfg.Driver == nil {
		drv, err := sim.Open("", sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Driver = drv
	}
	cfg.Resync, cfg.Debounce, cfg.Poll = testResync, 10*time.Millisecond, time.Second
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return a
}

// converged waits, in fake time, until the agent has read its files again
// and the host matches what they say, and returns the status then.
func converged(t *testing.T, a *Agent) reconcile.Status {
	t.Helper()
	time.Sleep(testResync + time.Second) // every file is read at least once more
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	if err := a.WaitConverged(ctx); err != nil {
		t.Fatalf("not converged in 10 minutes: %v; status %+v", err, a.Status())
	}
	return a.Status()
}

// TestAgentFollowsThePolicyFile runs the whole agent in process and edits
// its policy file: a policy that allows the spec's port creates it, an
// invalid edit keeps it and is reported, and a stricter policy leaves the
// running container alone but shows the rejection.
func TestAgentFollowsThePolicyFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore:ltsc2022", "ports: [{hostPort: 8080, containerPort: 80}]")
		policy := filepath.Join(t.TempDir(), "policy.yaml")
		testutil.WriteFile(t, policy, denyAllPolicy)
		a := startAgent(t, Config{Dir: dir, PolicyFile: policy})

		// check fails the test unless cond holds of the status once the
		// agent has converged on the files as they are now.
		check := func(what string, cond func(reconcile.Status, reconcile.ContainerStatus) bool) {
			t.Helper()
			st := converged(t, a)
			var web reconcile.ContainerStatus
			for _, c := range st.Containers {
				if c.Name == "web" {
					web = c
				}
			}
			if !cond(st, web) {
				t.Fatalf("%s: not so once converged; status %+v", what, st)
			}
		}
		rejectedBy := func(web reconcile.ContainerStatus, reason reconcile.Reason) bool {
			return web.State == reconcile.StateRejected && web.Rejection != nil && web.Rejection.Reason == reason
		}
		policyInvalid := func(st reconcile.Status) bool {
			for _, c := range st.Conditions {
				if c.Type == reconcile.CondPolicyInvalid {
					return true
				}
			}
			return false
		}

		check("web refused by the deny-all policy", func(_ reconcile.Status, web reconcile.ContainerStatus) bool {
			return rejectedBy(web, reconcile.ReasonPolicy)
		})
		testutil.WriteFile(t, policy, denyAllPolicy+"ports: ['8000-8999/tcp']\n")
		check("web running under the new policy", func(_ reconcile.Status, web reconcile.ContainerStatus) bool {
			return web.State == reconcile.StateRunning
		})
		id := a.Status().Containers[0].ContainerID

		testutil.WriteFile(t, policy, denyAllPolicy+"ports: [8080]\n")
		check("the invalid edit reported", func(st reconcile.Status, web reconcile.ContainerStatus) bool {
			return policyInvalid(st) && web.State == reconcile.StateRunning
		})
		if v := gaugeValue(t, a.registry, "isoagent_policy_valid"); v != 0 {
			t.Errorf("isoagent_policy_valid = %v while the file is invalid", v)
		}
		if v := conditionValue(t, a.registry, reconcile.CondPolicyInvalid); v != 1 {
			t.Errorf("isoagent_condition{kind=PolicyInvalid} = %v while the file is invalid, want 1", v)
		}

		testutil.WriteFile(t, policy, denyAllPolicy)
		check("web refused again, its container kept", func(st reconcile.Status, web reconcile.ContainerStatus) bool {
			return !policyInvalid(st) && rejectedBy(web, reconcile.ReasonPolicy) && web.ContainerID == id
		})
		if v := gaugeValue(t, a.registry, "isoagent_policy_valid"); v != 1 {
			t.Errorf("isoagent_policy_valid = %v after the repair", v)
		}
		if v := conditionValue(t, a.registry, reconcile.CondPolicyInvalid); v != 0 {
			t.Errorf("isoagent_condition{kind=PolicyInvalid} = %v after the repair, want 0", v)
		}
	})
}

// gaugeValue gathers reg and returns the value of the unlabelled gauge name.
func gaugeValue(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s in the registry", name)
	return 0
}

// conditionValue gathers reg and returns isoagent_condition{kind}.
func conditionValue(t *testing.T, reg prometheus.Gatherer, kind reconcile.ConditionType) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "isoagent_condition" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == string(kind) {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no isoagent_condition{kind=%q} in the registry", kind)
	return 0
}
