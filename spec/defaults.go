package spec

import "time"

// Defaults of the optional fields, as ApplyDefaults fills them in.
const (
	DefaultIsolation         = IsolationDefault
	DefaultPullPolicy        = PullIfNotPresent
	DefaultOnVersionMismatch = MismatchFail
	DefaultRestartPolicy     = RestartAlways
	DefaultStopTimeout       = Duration(10 * time.Second)
	DefaultProtocol          = "tcp"
	DefaultNetworkMode       = NetworkNAT
)

// ApplyDefaults fills in every optional field of c that is unset. It is
// the one place defaults live; Parse calls it after validation, so a
// Container from Parse never has these fields empty:
//
//	spec.isolation          default (the host's default: process on
//	                        Windows Server, hyperv on Windows 10/11)
//	spec.imagePullPolicy    IfNotPresent
//	spec.onVersionMismatch  fail
//	spec.restartPolicy      always; never with a schedule
//	spec.concurrencyPolicy  forbid, with a schedule
//	spec.stopTimeout        10s (a zero stopTimeout means unset)
//	spec.ports[].protocol   tcp
//	spec.network.mode       nat
//	spec.dependsOn[].condition  started
//	spec.healthcheck        interval 30s, timeout 30s, retries 3, http
//	                        path /, when it has a probe
//	spec.onUnhealthy        restart
//	spec.update.order       start-first, without a schedule
//	spec.update.timeout     5m, without a schedule (zero means unset)
//
// ApplyDefaults is idempotent.
func ApplyDefaults(c *Container) {
	s := &c.Spec
	if s.Isolation == "" {
		s.Isolation = DefaultIsolation
	}
	if s.ImagePullPolicy == "" {
		s.ImagePullPolicy = DefaultPullPolicy
	}
	if s.OnVersionMismatch == "" {
		s.OnVersionMismatch = DefaultOnVersionMismatch
	}
	if s.RestartPolicy == "" && s.Schedule != "" {
		s.RestartPolicy = RestartNever
	}
	if s.RestartPolicy == "" {
		s.RestartPolicy = DefaultRestartPolicy
	}
	if s.ConcurrencyPolicy == "" && s.Schedule != "" {
		s.ConcurrencyPolicy = ConcurrencyForbid
	}
	if s.StopTimeout == 0 {
		s.StopTimeout = DefaultStopTimeout
	}
	for i := range s.Ports {
		if s.Ports[i].Protocol == "" {
			s.Ports[i].Protocol = DefaultProtocol
		}
	}
	if s.Network.Mode == "" {
		s.Network.Mode = DefaultNetworkMode
	}
	if s.HealthCheck.HasProbe() {
		s.HealthCheck = s.HealthCheck.WithDefaults()
	}
	if s.OnUnhealthy == "" {
		s.OnUnhealthy = UnhealthyRestart
	}
	if s.Schedule == "" {
		if s.Update.Order == "" {
			s.Update.Order = DefaultUpdateOrder
		}
		if s.Update.Timeout == 0 {
			s.Update.Timeout = DefaultUpdateTimeout
		}
		if s.Update.Monitor == nil {
			m := DefaultUpdateMonitor
			s.Update.Monitor = &m
		}
	}
	for i := range s.DependsOn {
		if s.DependsOn[i].Condition == "" {
			s.DependsOn[i].Condition = DependsStarted
		}
	}
}
