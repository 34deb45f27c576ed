package kube_test

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/isoagent/isoagent/kube"
	"github.com/isoagent/isoagent/spec"
)

// A scheduled spec becomes a CronJob that says what the spec says of its
// runs; a zone left to the host, and a start order, are notes.
func TestScheduledSpecIsACronJob(t *testing.T) {
	specs, err := spec.Parse("s.yaml", []byte(`apiVersion: isoagent/v1
kind: Container
metadata: {name: report}
spec:
  image: mcr.microsoft.com/windows/nanoserver:ltsc2022
  schedule: "30 2 * * 1-5"
  timeZone: Europe/Berlin
  concurrencyPolicy: replace
  startingDeadline: 1h30m
  dependsOn: [{name: db}]
---
apiVersion: isoagent/v1
kind: Container
metadata: {name: local}
spec:
  image: mcr.microsoft.com/windows/nanoserver:ltsc2022
  schedule: "0 * * * *"
  restartPolicy: on-failure
---
apiVersion: isoagent/v1
kind: Container
metadata: {name: db}
spec:
  image: mcr.microsoft.com/windows/nanoserver:ltsc2022
`))
	if err != nil {
		t.Fatal(err)
	}
	objs := kube.Export(specs, nil, kube.Options{})
	byName := map[string]kube.Object{}
	for _, o := range objs {
		byName[o.Name()] = o
	}
	notes := func(o kube.Object) map[string]string {
		m := map[string]string{}
		for _, n := range o.Notes {
			m[n.Field] = n.Message
		}
		return m
	}

	report, ok := byName["report"].Object.(*batchv1.CronJob)
	if !ok {
		t.Fatalf("report is a %s, want a CronJob", byName["report"].Kind())
	}
	s := report.Spec
	if s.Schedule != "30 2 * * 1-5" || s.TimeZone == nil || *s.TimeZone != "Europe/Berlin" || s.ConcurrencyPolicy != batchv1.ReplaceConcurrent ||
		s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds != 5400 {
		t.Errorf("report's CronJob spec = %+v", s)
	}
	if p := s.JobTemplate.Spec.Template.Spec.RestartPolicy; p != corev1.RestartPolicyNever || *s.JobTemplate.Spec.BackoffLimit != 0 {
		t.Errorf("report: restartPolicy %s, backoffLimit %d; want Never, 0 (restartPolicy never)", p, *s.JobTemplate.Spec.BackoffLimit)
	}
	if n := notes(byName["report"]); !strings.Contains(n["spec.dependsOn"], "wait for db itself") || n["spec.schedule"] != "" {
		t.Errorf("report's notes = %v", n)
	}

	local := byName["local"].Object.(*batchv1.CronJob)
	if local.Spec.TimeZone != nil || local.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || local.Spec.StartingDeadlineSeconds != nil ||
		local.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("local's CronJob spec = %+v", local.Spec)
	}
	if n := notes(byName["local"]); !strings.Contains(n["spec.schedule"], "set timeZone") {
		t.Errorf("local's notes = %v, want one on spec.schedule", n)
	}
	if _, ok := byName["db"].Object.(*batchv1.CronJob); ok {
		t.Error("db without a schedule is a CronJob")
	}
}
