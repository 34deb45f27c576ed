package reconcile

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/health"
	"github.com/isoagent/isoagent/spec"
)

// serving runs simserve with args; curlCheck probes it from inside the
// container every 10s, three failures making it unhealthy.
func serving(args ...string) func(*spec.Spec) {
	return func(s *spec.Spec) { s.Command = append([]string{"simserve", "80"}, args...) }
}

func curlCheck(s *spec.Spec) {
	s.HealthCheck = spec.HealthCheck{Exec: []string{"curl", "-f", "http://localhost/"}, Interval: spec.Duration(10 * time.Second), Timeout: spec.Duration(5 * time.Second), Retries: 3}
}

// A container whose process stops doing its work is found unhealthy and
// restarted, its exit recorded with reason unhealthy; other containers
// are not held up.
func TestEngineRestartsAnUnhealthyContainer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		web := ctr("web", img2022, serving("-unhealthy-after", "1m"), curlCheck)
		hr := &healthRecorder{}
		r := start(t, openSim(t, ""), snapshot(web, ctr("other", img2022)), hr.wrap)
		r.waitConverged()
		first := r.requireRunning("web")["web"]
		r.settle(30 * time.Second)
		if st := r.status("web"); st.Health == nil || st.Health.State != health.Healthy || st.Health.Check != "exec curl -f http://localhost/ every 10s" {
			t.Fatalf("after 30s: health %+v, want healthy by its exec check", st.Health)
		}
		// Unhealthy from 1m on: the probes at 60, 70 and 80s fail.
		r.settle(55 * time.Second)
		st := r.status("web")
		if st.LastExit == nil || st.LastExit.Reason != ExitUnhealthy || st.LastExit.ContainerID != first.ID {
			t.Fatalf("after 85s: last exit %+v, want container %s stopped as unhealthy", st.LastExit, first.ID)
		}
		if st.RestartCount != 1 {
			t.Errorf("restarted %d times, want 1", st.RestartCount)
		}
		again := r.requireRunning("web", "other")["web"]
		if again.ID != first.ID || !again.StartedAt.After(first.StartedAt) {
			t.Errorf("after the restart: %+v, want the same container started again", again)
		}
		if st.Health == nil || st.Health.State != health.Starting || st.Health.FailingStreak != 0 {
			t.Errorf("the new run's health %+v, want starting afresh", st.Health)
		}
		hr.mu.Lock()
		defer hr.mu.Unlock()
		if hr.exits[ExitUnhealthy] != 1 {
			t.Errorf("observer told of exits %v, want one unhealthy", hr.exits)
		}
		if hr.probes[health.KindExec] < 8 || hr.failed[health.KindExec] != 3 {
			t.Errorf("observer told of %d exec probes, %d failed; want at least 8 and 3", hr.probes[health.KindExec], hr.failed[health.KindExec])
		}
	})
}

// onUnhealthy: none only reports.
func TestEngineOnUnhealthyNone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		web := ctr("web", img2022, serving("-unhealthy-after", "1m"), curlCheck, func(s *spec.Spec) { s.OnUnhealthy = spec.UnhealthyNone })
		r := start(t, openSim(t, ""), snapshot(web))
		r.waitConverged()
		r.settle(2 * time.Minute)
		st := r.status("web")
		if st.Health == nil || st.Health.State != health.Unhealthy || st.RestartCount != 0 || st.LastExit != nil {
			t.Fatalf("status %+v, health %+v; want unhealthy, running, never restarted", st, st.Health)
		}
		if len(st.Health.Log) != health.MaxResults {
			t.Errorf("kept %d results, want the last %d", len(st.Health.Log), health.MaxResults)
		}
		last := st.Health.Log[len(st.Health.Log)-1]
		if last.OK || last.ExitCode != 22 || !strings.Contains(last.Output, "503") {
			t.Errorf("last result %+v, want curl's failure on a 503", last)
		}
	})
}

// dependsOn condition healthy creates the dependent only once its
// dependency's check passes.
func TestEngineDependsOnHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := ctr("db", img2022, serving("-fail-first", "2"), curlCheck)
		app := ctr("app", img2022, func(s *spec.Spec) {
			s.DependsOn = []spec.Dependency{{Name: "db", Condition: spec.DependsHealthy}}
		})
		r := start(t, openSim(t, ""), snapshot(db, app))
		r.settle(25 * time.Second) // probes at 10s and 20s failed
		if _, ok := r.containers()["app"]; ok {
			t.Fatal("app was created before db is healthy")
		}
		st := r.status("app")
		if st.State != StateWaiting || !hasConditionWith(st.Conditions, CondWaiting, "waiting for db to be healthy: it is starting") {
			t.Fatalf("app: %s %+v, want waiting for db to be healthy", st.State, st.Conditions)
		}
		r.settle(10 * time.Second) // the probe at 30s passes
		r.waitConverged()
		r.requireRunning("db", "app")
	})
}

// A dependency without any health check never becomes healthy, and its
// dependent says why.
func TestEngineDependsOnHealthyWithoutACheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		app := ctr("app", img2022, func(s *spec.Spec) {
			s.DependsOn = []spec.Dependency{{Name: "db", Condition: spec.DependsHealthy}}
		})
		r := start(t, openSim(t, ""), snapshot(ctr("db", img2022), app))
		r.settle(time.Minute)
		st := r.status("app")
		if st.State != StateWaiting || !hasConditionWith(st.Conditions, CondWaiting, "it has no health check") {
			t.Fatalf("app: %s %+v, want waiting, saying db has no health check", st.State, st.Conditions)
		}
	})
}

// The image's HEALTHCHECK runs when the spec has none (CMD-SHELL through
// cmd /S /C), and disable turns it off.
func TestEngineImageHealthcheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		if err := drv.Model().SetImageHealthcheck(img2022, &driver.ImageHealthcheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
		off := ctr("off", img2022, serving(), func(s *spec.Spec) { s.HealthCheck = spec.HealthCheck{Disable: true} })
		r := start(t, drv, snapshot(ctr("web", img2022, serving()), off))
		r.waitConverged()
		r.settle(6 * time.Second)
		st := r.status("web")
		if st.Health == nil || st.Health.State != health.Healthy || !st.Health.FromImage || st.Health.Check != "exec cmd /S /C curl -f http://localhost/ every 5s" {
			t.Errorf("web: health %+v, want healthy by the image's check", st.Health)
		}
		if st := r.status("off"); st.Health != nil {
			t.Errorf("off: health %+v, want none (disabled)", st.Health)
		}
		if state, has := r.eng.healthOf(r.status("off").ContainerID); has {
			t.Errorf("healthOf(off) = %s, true; want no check", state)
		}
		if state, has := r.eng.healthOf(st.ContainerID); !has || state != health.Healthy {
			t.Errorf("healthOf(web) = %s, %v; want healthy, true", state, has)
		}
	})
}

// Changing only the check does not recreate the container: the probes
// start afresh with the new one.
func TestEngineCheckChangeKeepsTheContainer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		web := ctr("web", img2022, serving(), curlCheck)
		r := start(t, openSim(t, ""), snapshot(web))
		r.waitConverged()
		before := r.requireRunning("web")["web"]
		changed := ctr("web", img2022, serving(), curlCheck, func(s *spec.Spec) { s.HealthCheck.Interval = spec.Duration(3 * time.Second) })
		r.apply(snapshot(changed))
		r.waitConverged()
		r.settle(4 * time.Second)
		after := r.requireRunning("web")["web"]
		if after.ID != before.ID || !after.StartedAt.Equal(before.StartedAt) {
			t.Errorf("the container changed: %+v, want %+v", after, before)
		}
		if st := r.status("web"); st.Health == nil || !strings.HasSuffix(st.Health.Check, "every 3s") || st.Health.State != health.Healthy {
			t.Errorf("health %+v, want healthy by the new check", st.Health)
		}
	})
}

func hasConditionWith(conds []Condition, typ ConditionType, text string) bool {
	for _, c := range conds {
		if c.Type == typ && strings.Contains(c.Message, text) {
			return true
		}
	}
	return false
}

// healthRecorder is the rig's recorder that is told of exits and probes
// too.
type healthRecorder struct {
	*recorder
	mu     sync.Mutex
	exits  map[ExitReason]int
	probes map[health.Kind]int
	failed map[health.Kind]int
}

func (h *healthRecorder) wrap(o *EngineOptions) {
	h.recorder = o.Observer.(*recorder)
	h.exits, h.probes, h.failed = map[ExitReason]int{}, map[health.Kind]int{}, map[health.Kind]int{}
	o.Observer = h
}

func (h *healthRecorder) Exited(_ string, e LastExit) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.exits[e.Reason]++
}

func (h *healthRecorder) Probed(_ string, k health.Kind, _ time.Duration, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.probes[k]++
	if !ok {
		h.failed[k]++
	}
}

// WaitSettled waits for the health of the containers that have a check,
// and says which are not healthy when it gives up.
func TestWaitSettledWaitsForHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := ctr("slow", img2022, serving("-fail-first", "2"), curlCheck, func(s *spec.Spec) { s.HealthCheck.StartPeriod = spec.Duration(time.Minute) })
		r := start(t, openSim(t, ""), snapshot(slow, ctr("plain", img2022)))
		ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
		defer cancel()
		if c := r.eng.WaitSettled(ctx, time.Second); c.Converged || !slices.Equal(c.NotHealthy, []string{"slow"}) {
			t.Fatalf("after 15s: %+v, want not converged, slow not healthy", c)
		}
		began := time.Now()
		c := r.eng.WaitSettled(t.Context(), time.Second)
		if !c.Converged || len(c.NotHealthy) != 0 {
			t.Fatalf("WaitSettled = %+v, want converged", c)
		}
		// The third probe, 30s after the start, is the first to pass.
		if at := time.Since(began) + 15*time.Second; at < 30*time.Second {
			t.Errorf("converged %s after the start, before the check passed at 30s", at)
		}
	})
}

// Over the network, in real time: the sim serves the container's port on
// a real loopback listener and the engine's http probe GETs it there.
func TestEngineProbesOverTheNetwork(t *testing.T) {
	drv := openSim(t, "")
	t.Cleanup(func() { drv.Close() })
	web := ctr("web", img2022, serving(), func(s *spec.Spec) {
		s.HealthCheck = spec.HealthCheck{HTTP: spec.HTTPCheck{Port: 80, Path: "/"}, Interval: spec.Duration(20 * time.Millisecond), Timeout: spec.Duration(5 * time.Second), Retries: 3}
	})
	r := start(t, drv, snapshot(web))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if c := r.eng.WaitSettled(ctx, 10*time.Millisecond); !c.Converged {
		t.Fatalf("WaitSettled = %+v, want converged and healthy", c)
	}
	st := r.status("web")
	if st.Health == nil || st.Health.State != health.Healthy || len(st.Health.Log) == 0 {
		t.Fatalf("health %+v, want healthy with results", st.Health)
	}
	last := st.Health.Log[len(st.Health.Log)-1]
	if !last.OK || !strings.HasPrefix(last.Output, "200 OK\nOK") {
		t.Errorf("last result %+v, want simserve's 200 OK", last)
	}
}

// restartPolicy never leaves a container stopped for its health stopped,
// as a failed run.
func TestEngineUnhealthyWithRestartPolicyNever(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		web := ctr("web", img2022, serving("-unhealthy-after", "1m"), curlCheck, func(s *spec.Spec) { s.RestartPolicy = spec.RestartNever })
		r := start(t, openSim(t, ""), snapshot(web))
		r.waitConverged()
		r.settle(3 * time.Minute)
		st := r.status("web")
		if st.State != StateExited || st.RestartCount != 0 || st.LastExit == nil || st.LastExit.Reason != ExitUnhealthy || st.Health != nil {
			t.Fatalf("status %+v, last exit %+v; want exited as unhealthy, not restarted, no health", st, st.LastExit)
		}
	})
}
