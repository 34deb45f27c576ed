package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/isoagent/isoagent/health"
	"github.com/isoagent/isoagent/reconcile"
)

func TestContainerHealthy(t *testing.T) {
	m, reg := newTest(t)
	m.SetContainerSource(func() []ContainerInfo {
		return []ContainerInfo{
			{Name: "web", Isolation: "process", State: reconcile.StateRunning, Health: health.Healthy},
			{Name: "api", Isolation: "process", State: reconcile.StateRunning, Health: health.Unhealthy},
			{Name: "slow", Isolation: "process", State: reconcile.StateRunning, Health: health.Starting},
			{Name: "plain", Isolation: "process", State: reconcile.StateRunning},
		}
	})
	want := `
# HELP isoagent_container_healthy 1 while a running container's health check passes, 0 while it has not passed yet (starting) or has failed its retries in a row (unhealthy); absent for containers without a health check.
# TYPE isoagent_container_healthy gauge
isoagent_container_healthy{name="api"} 0
isoagent_container_healthy{name="slow"} 0
isoagent_container_healthy{name="web"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isoagent_container_healthy"); err != nil {
		t.Error(err)
	}
}

func TestProbeSeries(t *testing.T) {
	m, reg := newTest(t)
	m.ObserveProbe(health.KindHTTP, 20*time.Millisecond, true)
	m.ObserveProbe(health.KindHTTP, 2*time.Second, false)
	m.ObserveProbe(health.KindExec, time.Second, false)
	want := `
# HELP isoagent_health_probe_failures_total Health probes of containers that failed (a non-zero exit code, a refused connection, an HTTP status outside 2xx and 3xx, a timeout), by kind.
# TYPE isoagent_health_probe_failures_total counter
isoagent_health_probe_failures_total{kind="exec"} 1
isoagent_health_probe_failures_total{kind="http"} 1
isoagent_health_probe_failures_total{kind="tcp"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isoagent_health_probe_failures_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.health.duration); n != 3 {
		t.Errorf("%d probe duration series, want one per kind, pre-initialised", n)
	}
}
