package spec

import "time"

// UpdateOrder says in which order a change of a spec replaces its running
// container, as a Swarm service's update_config order does.
type UpdateOrder string

// Update orders.
const (
	// UpdateStartFirst starts the new container next to the old one and
	// stops the old one only once the new one is ready. A change that
	// moves a host port the old container holds is rolled out stop-first
	// whatever the spec says: two containers cannot map one host port.
	UpdateStartFirst UpdateOrder = "start-first"
	// UpdateStopFirst stops and removes the old container before the new
	// one is created, and brings the old configuration back when the new
	// one is not ready in time.
	UpdateStopFirst UpdateOrder = "stop-first"
)

// Defaults of spec.update.
const (
	DefaultUpdateOrder   = UpdateStartFirst
	DefaultUpdateTimeout = Duration(5 * time.Minute)
)

// UpdatePolicy is spec.update: how a change of the spec is rolled out. Timeout
// is how long the new container has to become ready (healthy, or running
// when it has no health check) before the rollout counts as failed.
type UpdatePolicy struct {
	Order   UpdateOrder `yaml:"order,omitempty" json:"order,omitempty"`
	Timeout Duration    `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// update checks spec.update.
func (v *validator) update(s *Spec) {
	u := s.Update
	if s.Schedule != "" && u != (UpdatePolicy{}) {
		v.errorf("spec.update", "applies only to a container kept running; a scheduled container is created afresh for each run, so remove update")
		return
	}
	v.enum("spec.update.order", string(u.Order), string(UpdateStartFirst), string(UpdateStopFirst))
	if u.Timeout < 0 {
		v.errorf("spec.update.timeout", "%s is negative; give a duration such as 5m", u.Timeout)
	}
}
