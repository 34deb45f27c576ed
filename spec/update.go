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
	// DefaultUpdateMonitor is Docker Swarm's update-monitor default: long
	// enough that a process that exits at once fails the rollout rather
	// than passing it.
	DefaultUpdateMonitor = Duration(5 * time.Second)
)

// UpdatePolicy is spec.update: how a change of the spec is rolled out. Timeout
// is how long the new container has to become ready (healthy, or running
// when it has no health check) before the rollout counts as failed.
// Monitor, Swarm's --update-monitor, is how long a new container without
// a health check must run, as the driver lists it, to be ready: 0s takes
// it as ready once it runs; nil until defaults apply (DefaultUpdateMonitor).
// A health check, when there is one, decides readiness instead.
type UpdatePolicy struct {
	Order   UpdateOrder `yaml:"order,omitempty" json:"order,omitempty"`
	Timeout Duration    `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Monitor *Duration   `yaml:"monitor,omitempty" json:"monitor,omitempty"`
}

// IsZero reports whether u says nothing.
func (u UpdatePolicy) IsZero() bool { return u.Equal(UpdatePolicy{}) }

// Equal reports whether u and o say the same, Monitor by value.
func (u UpdatePolicy) Equal(o UpdatePolicy) bool {
	if u.Order != o.Order || u.Timeout != o.Timeout || (u.Monitor == nil) != (o.Monitor == nil) {
		return false
	}
	return u.Monitor == nil || *u.Monitor == *o.Monitor
}

// MonitorOrDefault is Monitor, or DefaultUpdateMonitor when it is not set.
func (u UpdatePolicy) MonitorOrDefault() Duration {
	if u.Monitor == nil {
		return DefaultUpdateMonitor
	}
	return *u.Monitor
}

// update checks spec.update.
func (v *validator) update(s *Spec) {
	u := s.Update
	if s.Schedule != "" && !u.IsZero() {
		v.errorf("spec.update", "applies only to a container kept running; a scheduled container is created afresh for each run, so remove update")
		return
	}
	v.enum("spec.update.order", string(u.Order), string(UpdateStartFirst), string(UpdateStopFirst))
	if u.Timeout < 0 {
		v.errorf("spec.update.timeout", "%s is negative; give a duration such as 5m", u.Timeout)
	}
	if u.Monitor != nil && *u.Monitor < 0 {
		v.errorf("spec.update.monitor", "%s is negative; give a duration such as 5s, or 0s to take the new container as ready once it runs", *u.Monitor)
	}
}
