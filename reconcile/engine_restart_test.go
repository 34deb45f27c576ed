package reconcile

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/spec"
)

func TestEngineRestartPolicies(t *testing.T) {
	exit := func(code int) func(*spec.Spec) {
		return func(s *spec.Spec) { s.Command = []string{"cmd", "/c", "exit", fmt.Sprint(code)} }
	}
	policy := func(p spec.RestartPolicy) func(*spec.Spec) { return func(s *spec.Spec) { s.RestartPolicy = p } }
	tests := []struct {
		name      string
		spec      *spec.Container
		restarted bool
	}{
		{"always restarts a clean exit", ctr("x", img2022, exit(0), policy(spec.RestartAlways)), true},
		{"always restarts a failure", ctr("x", img2022, exit(1), policy(spec.RestartAlways)), true},
		{"on-failure restarts a failure", ctr("x", img2022, exit(2), policy(spec.RestartOnFailure)), true},
		{"on-failure leaves a clean exit", ctr("x", img2022, exit(0), policy(spec.RestartOnFailure)), false},
		{"never leaves a failure", ctr("x", img2022, exit(1), policy(spec.RestartNever)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := start(t, openSim(t, ""), snapshot(tt.spec))
				r.settle(time.Minute)
				n := r.status("x").RestartCount
				if tt.restarted && n == 0 || !tt.restarted && n != 0 {
					t.Errorf("restarted %d times, want restarts: %v", n, tt.restarted)
				}
				if !tt.restarted {
					if st := r.status("x"); st.State != StateExited || st.ExitCode == nil || !r.eng.Converged() {
						t.Errorf("status %+v, converged %v; want exited and settled", st, r.eng.Converged())
					}
				}
			})
		})
	}
}

// A crash loop backs off 10 s doubling to 5 min, and never holds up other
// containers.
func TestEngineCrashLoopBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crash := ctr("crash", img2022, func(s *spec.Spec) { s.Command = []string{"cmd", "/c", "exit", "1"} })
		r := start(t, openSim(t, ""), snapshot(crash, ctr("ok", img2022)))
		r.settle(30 * time.Minute)
		r.requireRunning("ok")
		r.rec.mu.Lock()
		restarts := slices.Clone(r.rec.restarts)
		r.rec.mu.Unlock()
		if len(restarts) < 5 {
			t.Fatalf("only %d restarts in 30 min", len(restarts))
		}
		for i := 1; i < len(restarts); i++ {
			gap := restarts[i].Sub(restarts[i-1])
			want := exponential(crashBackoffBase, crashBackoffMax, i-1)
			if gap < want || gap > want+testResync+2*time.Second {
				t.Errorf("gap before restart %d = %s, want %s (+ up to one resync)", i, gap, want)
			}
		}
		if r.eng.Converged() {
			t.Error("converged while crash-looping")
		}
		st := r.status("crash")
		if st.RestartCount != len(restarts) || st.State != StateExited && st.State != StateRunning {
			t.Errorf("status %+v", st)
		}
	})
}

func TestEngineCrashBackoffResetsAfterTenMinutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		long := ctr("long", img2022, func(s *spec.Spec) { s.Command = []string{"ping", "-n", "700", "localhost"} })
		r := start(t, openSim(t, ""), snapshot(long), func(o *EngineOptions) { o.Resync = time.Second })
		r.settle(4 * 702 * time.Second)
		r.rec.mu.Lock()
		restarts := slices.Clone(r.rec.restarts)
		r.rec.mu.Unlock()
		if len(restarts) < 3 {
			t.Fatalf("%d restarts", len(restarts))
		}
		for i := 1; i < len(restarts); i++ {
			if gap := restarts[i].Sub(restarts[i-1]); gap > 703*time.Second {
				t.Errorf("restart %d waited %s after a 700 s run; backoff was not reset", i, gap-700*time.Second)
			}
		}
	})
}
