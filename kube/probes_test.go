package kube_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/isoagent/isoagent/kube"
	"github.com/isoagent/isoagent/spec"
)

// Health checks export as the kubelet's probes: readiness always,
// liveness unless onUnhealthy is none, startup for a start period.
func TestHealthChecksAsProbes(t *testing.T) {
	tests := []struct {
		name          string
		lines         string
		want          corev1.ProbeHandler
		period        int32
		timeout       int32
		failures      int32
		liveness      bool
		startFailures int32 // 0: no startup probe
		note          string
	}{
		{"http", "healthcheck: {http: {port: 80, path: /healthz}, interval: 10s, timeout: 2s, retries: 5}",
			corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80), Path: "/healthz"}}, 10, 2, 5, true, 0, ""},
		{"tcp with Docker's defaults", "healthcheck: {tcp: {port: 1433}}",
			corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(1433)}}, 30, 30, 3, true, 0, ""},
		{"exec, reporting only", "healthcheck: {exec: [curl, -f, 'http://localhost/']}\n  onUnhealthy: none",
			corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"curl", "-f", "http://localhost/"}}}, 30, 30, 3, false, 0, ""},
		{"a start period", "healthcheck: {tcp: {port: 80}, interval: 10s, startPeriod: 95s}",
			corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}, 10, 30, 3, true, 13, ""},
		{"sub-second timings", "healthcheck: {tcp: {port: 80}, interval: 1500ms, timeout: 500ms}",
			corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}, 2, 1, 3, true, 0, "whole seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  image: mcr.microsoft.com/windows/servercore:ltsc2022\n  " + tt.lines + "\n"
			specs, err := spec.Parse("web.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			objs := kube.Export(specs, nil, kube.Options{})
			var doc []byte
			var ctr corev1.Container
			var notes []kube.Note
			for _, o := range objs {
				if d, ok := o.Object.(*appsv1.Deployment); ok {
					ctr = d.Spec.Template.Spec.Containers[0]
					notes = o.Notes
					if doc, err = kube.Marshal(o); err != nil {
						t.Fatal(err)
					}
				}
			}
			decodeStrict(t, doc) // the probes are fields Kubernetes knows
			check := func(what string, p *corev1.Probe, failures int32) {
				t.Helper()
				if p == nil {
					t.Fatalf("no %s probe", what)
				}
				if !equalHandler(p.ProbeHandler, tt.want) || p.PeriodSeconds != tt.period || p.TimeoutSeconds != tt.timeout || p.FailureThreshold != failures || p.SuccessThreshold != 1 {
					t.Errorf("%s probe = %+v, want %+v every %ds, timeout %ds, %d failures", what, *p, tt.want, tt.period, tt.timeout, failures)
				}
			}
			check("readiness", ctr.ReadinessProbe, tt.failures)
			if tt.liveness {
				check("liveness", ctr.LivenessProbe, tt.failures)
			} else if ctr.LivenessProbe != nil {
				t.Errorf("liveness probe %+v with onUnhealthy none", ctr.LivenessProbe)
			}
			if tt.startFailures > 0 {
				check("startup", ctr.StartupProbe, tt.startFailures)
			} else if ctr.StartupProbe != nil {
				t.Errorf("startup probe %+v without a start period", ctr.StartupProbe)
			}
			var said []string
			for _, n := range notes {
				said = append(said, n.Message)
			}
			if got := strings.Join(said, "\n"); tt.note == "" && strings.Contains(got, "probe") || !strings.Contains(got, tt.note) {
				t.Errorf("notes %q, want one saying %q", got, tt.note)
			}
		})
	}
}

func equalHandler(a, b corev1.ProbeHandler) bool { return equality.Semantic.DeepEqual(a, b) }
