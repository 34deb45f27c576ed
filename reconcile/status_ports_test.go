package reconcile

import (
	"slices"
	"testing"
	"testing/synctest"

	"github.com/isoagent/isoagent/spec"
)

// Status carries the ports each spec publishes, for the PORTS column.
func TestStatusShowsPorts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ports := []spec.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
		r := start(t, openSim(t, ""), snapshot(ctr("web", img2022, func(s *spec.Spec) { s.Ports = ports }), ctr("batch", img2022)))
		r.waitConverged()
		got := map[string][]spec.Port{}
		for _, c := range r.eng.Status().Containers {
			got[c.Name] = c.Ports
		}
		if !slices.Equal(got["web"], ports) || got["batch"] != nil {
			t.Errorf("ports in status %v, want web's %v and none for batch", got, ports)
		}
	})
}
