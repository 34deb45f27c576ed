package reconcile

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// TestEngineAppliesAPolicyChange pins what a policy edit does to a running
// agent: every spec is re-admitted at once; a spec the new policy refuses
// keeps its running container (it is not pruned or stopped) and shows the
// rejection; allowing it again adopts the same container; and a spec the
// policy now allows is created without the folder changing.
func TestEngineAppliesAPolicyChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		web := ctr("web", img2022, mount(`D:\sites\web`, true), port(8080, "tcp"))
		api := ctr("api", img2022, port(8081, "tcp"))
		allowWeb := checker(t, "apiVersion: isoagent/v1\nkind: Policy\nmounts: [{path: 'D:\\sites', readOnly: true}]\nports: ['8080/tcp']\n")
		allowBoth := checker(t, "apiVersion: isoagent/v1\nkind: Policy\nmounts: [{path: 'D:\\sites', readOnly: true}]\nports: ['8080-8081/tcp']\n")
		denyAll := checker(t, "")

		r := start(t, openSim(t, ""), snapshot(web, api), func(o *EngineOptions) { o.Admit.Policy = allowWeb })
		r.waitConverged()
		before := r.requireRunning("web")
		if _, ok := before["api"]; ok {
			t.Fatal("api was created though the policy refuses port 8081")
		}
		if st := r.status("api"); st.State != StateRejected || st.Rejection.Reason != ReasonPolicy || st.Rejection.Field != "spec.ports[0].hostPort" {
			t.Errorf("api status %s %+v", st.State, st.Rejection)
		}

		r.rec.reset()
		r.eng.SetPolicy(allowBoth)
		r.waitConverged()
		after := r.requireRunning("web", "api")
		if after["web"].ID != before["web"].ID {
			t.Error("web was recreated by a policy change that still allows it")
		}
		if got := r.rec.counts(); got != "create=1 start=1 stop=0 remove=0" {
			t.Errorf("actions %s, want api created and nothing else", got)
		}

		r.rec.reset()
		r.eng.SetPolicy(denyAll)
		r.waitConverged()
		r.settle(testResync)
		if got := r.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
			t.Errorf("a stricter policy took actions %s; running containers must be left alone", got)
		}
		kept := r.requireRunning("web", "api")
		st := r.status("web")
		if st.State != StateRejected || st.Rejection.Reason != ReasonPolicy || !hasCondition(st.Conditions, CondKeptRunning) {
			t.Errorf("web under a deny-all policy: %s %+v %+v", st.State, st.Rejection, st.Conditions)
		}

		// The spec changes while the policy refuses it: still nothing is
		// created, and what runs keeps running.
		changed := *web
		changed.Spec.Env = map[string]string{"V": "2"}
		r.apply(snapshot(&changed, api))
		r.waitConverged()
		r.settle(testResync)
		if got := r.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
			t.Errorf("a refused spec change took actions %s", got)
		}

		r.eng.SetPolicy(allowBoth)
		r.waitConverged()
		now := r.requireRunning("web", "api")
		if now["api"].ID != kept["api"].ID {
			t.Error("api was recreated when the policy allowed it again")
		}
		if now["web"].ID == kept["web"].ID {
			t.Error("web still runs its old config after its changed spec was allowed")
		}
	})
}

func TestEngineReportsAnInvalidPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, openSim(t, ""), snapshot(ctr("a", img2022)))
		r.waitConverged()
		r.eng.SetPolicyError(errors.New("policy.yaml:3:9: ports[0]: bad"))
		conds := r.eng.Status().Conditions
		if !hasCondition(conds, CondPolicyInvalid) {
			t.Fatalf("conditions %+v lack %s", conds, CondPolicyInvalid)
		}
		r.eng.SetPolicyError(nil)
		if conds := r.eng.Status().Conditions; hasCondition(conds, CondPolicyInvalid) {
			t.Errorf("condition not cleared: %+v", conds)
		}
	})
}

// flippingResolver is a policy.Resolver whose answer the test changes,
// like a junction redirected on the host.
type flippingResolver struct {
	mu   sync.Mutex
	real map[string]string
}

func (f *flippingResolver) ResolvePath(p winpath.Path) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.real[p.String()]; ok {
		return r, nil
	}
	return p.String(), nil
}

func (f *flippingResolver) set(p, real string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.real[p] = real
}

// A junction under an allowed mount source that is redirected outside the
// policy is caught at the next resync, though the folder did not change:
// the agent feeds snapshots with Update only, as `run` does.
// The running container is kept, and the refusal names the target.
func TestEngineReadmitsAtResyncWhenAMountIsRedirected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		res := &flippingResolver{real: map[string]string{}}
		p, err := policy.Parse("policy.yaml", []byte("apiVersion: isoagent/v1\nkind: Policy\nmounts: [{path: 'D:\\data'}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		pc, err := policy.NewChecker(p)
		if err != nil {
			t.Fatal(err)
		}
		web := ctr("web", img2022, mount(`D:\data\web`, false))
		snap := snapshot(web)
		r := start(t, openSim(t, ""), snap, func(o *EngineOptions) {
			o.Admit.Policy = pc
			o.Admit.Resolver = res
		})
		r.waitConverged()
		before := r.requireRunning("web")

		res.set(`D:\data\web`, `C:\Windows\System32`)
		r.settle(testResync + time.Second)
		st := r.status("web")
		if st.State != StateRejected || st.Rejection == nil || !strings.Contains(st.Rejection.Message, `C:\Windows\System32`) {
			t.Fatalf("after the redirect and a resync: %s %+v", st.State, st.Rejection)
		}
		if !hasCondition(st.Conditions, CondKeptRunning) {
			t.Errorf("conditions %+v, want KeptRunning", st.Conditions)
		}
		if after := r.requireRunning("web"); after["web"].ID != before["web"].ID {
			t.Error("the running container was replaced")
		}
	})
}

// TestEngineReadmitsAtResyncWhenHyperVGoes: the host is described again at
// every resync, so a host found without Hyper-V (the hcs driver learns it
// from HCS; here a drill) rejects Hyper-V specs from then on, with the fix,
// and a container that runs already is kept.
func TestEngineReadmitsAtResyncWhenHyperVGoes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		r := start(t, drv, snapshot(ctr("legacy", img2019, isolation(spec.IsolationHyperV)), ctr("new", img2022, isolation(spec.IsolationHyperV))))
		r.waitConverged()
		before := r.requireRunning("legacy", "new")
		if err := drv.Model().SetHyperV(driver.Unavailable, "HCS said a required feature is not installed"); err != nil {
			t.Fatal(err)
		}
		r.settle(testResync + time.Second)
		for _, name := range []string{"legacy", "new"} {
			st := r.status(name)
			if st.State != StateRejected || st.Rejection == nil || st.Rejection.Reason != ReasonUnsupported || !strings.Contains(st.Rejection.Message, "Install-WindowsFeature Hyper-V") {
				t.Errorf("%s after Hyper-V went and a resync: %s %+v", name, st.State, st.Rejection)
			}
		}
		if after := r.requireRunning("legacy", "new"); after["new"].ID != before["new"].ID {
			t.Error("the running container of a rejected spec was replaced")
		}
	})
}
