package kube

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/isoagent/isoagent/health"
	"github.com/isoagent/isoagent/spec"
)

// probes maps spec.healthcheck as the kubelet's probes. Health gates what
// waits for it (dependsOn healthy, a rollout), which is a readiness
// probe; onUnhealthy restart (the default) makes it a liveness probe too;
// a start period becomes a startup probe that holds the other two back
// until it passes, as Docker's start period lets failures not count until
// a probe passes. Kubernetes counts whole seconds.
func (b *podBuilder) probes(c *spec.Container, ctr *corev1.Container) {
	check, ok := health.FromSpec(c.Spec.HealthCheck)
	if !ok {
		return
	}
	handler := corev1.ProbeHandler{}
	switch check.Kind {
	case health.KindExec:
		handler.Exec = &corev1.ExecAction{Command: check.Command}
	case health.KindTCP:
		handler.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(check.Port))}
	case health.KindHTTP:
		handler.HTTPGet = &corev1.HTTPGetAction{Port: intstr.FromInt32(int32(check.Port)), Path: check.Path}
	}
	period := b.seconds(c, "spec.healthcheck.interval", check.Interval)
	timeout := b.seconds(c, "spec.healthcheck.timeout", check.Timeout)
	probe := func(failures int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: handler, PeriodSeconds: period, TimeoutSeconds: timeout, FailureThreshold: failures, SuccessThreshold: 1}
	}
	ctr.ReadinessProbe = probe(int32(check.Retries))
	if c.Spec.OnUnhealthy != spec.UnhealthyNone {
		ctr.LivenessProbe = probe(int32(check.Retries))
	}
	if check.StartPeriod > 0 {
		// Docker's start period, then its retries: the startup probe
		// passes at the first probe that passes, and fails the container
		// once the start period and the retries after it are over.
		starts := (check.StartPeriod + check.Interval - 1) / check.Interval
		ctr.StartupProbe = probe(int32(starts) + int32(check.Retries))
	}
}

// seconds is d in whole seconds for a probe field, rounded up, at least
// 1, with a note when that changes it.
func (b *podBuilder) seconds(c *spec.Container, field string, d time.Duration) int32 {
	s := int32((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	if time.Duration(s)*time.Second != d {
		b.note(c, field, "%s; Kubernetes counts probes in whole seconds, so the probe takes %ds", d, s)
	}
	return s
}
