package kube

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/isoagent/isoagent/spec"
)

// cronJob is the workload of a scheduled spec: a CronJob with its
// schedule, time zone, concurrency policy and starting deadline, whose
// pods restart as the spec's restart policy says within a run.
func cronJob(b *podBuilder, c *spec.Container, meta metav1.ObjectMeta, tmpl corev1.PodTemplateSpec) (*batchv1.CronJob, string) {
	s := c.Spec
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	backoff := int32(1<<31 - 1) // the agent retries a failed run until the next one
	if s.RestartPolicy == spec.RestartNever {
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
		backoff = 0
	}
	cs := batchv1.CronJobSpec{
		Schedule:          s.Schedule,
		ConcurrencyPolicy: batchv1.ForbidConcurrent,
		JobTemplate:       batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{BackoffLimit: &backoff, Template: tmpl}},
	}
	if s.ConcurrencyPolicy == spec.ConcurrencyReplace {
		cs.ConcurrencyPolicy = batchv1.ReplaceConcurrent
	}
	if s.TimeZone != "" {
		tz := s.TimeZone
		cs.TimeZone = &tz
	} else {
		b.note(c, "spec.schedule", "is read in the host's local time; a CronJob without timeZone is read in the kube-controller-manager's, so set timeZone to the zone you mean")
	}
	if s.StartingDeadline > 0 {
		secs := int64(time.Duration(s.StartingDeadline).Seconds())
		cs.StartingDeadlineSeconds = &secs
	}
	if s.Hosts != nil || s.Selector != nil {
		b.note(c, "spec.hosts", "a scheduled spec runs on each of its hosts; this CronJob runs each run once, on one node that matches")
	}
	obj := &batchv1.CronJob{TypeMeta: typeMeta("batch/v1", "CronJob"), ObjectMeta: meta, Spec: cs}
	return obj, fmt.Sprintf("spec %s runs at %q (restartPolicy %s within a run): a CronJob.", c.Name(), s.Schedule, s.RestartPolicy)
}
