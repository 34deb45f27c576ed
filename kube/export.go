package kube

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
)

// Names and labels the exported objects share.
const (
	// HyperVRuntimeClass is the RuntimeClass of Hyper-V isolation. The
	// admission policy takes a pod with it for hyperv and a pod with no
	// runtime class for process; any other class is refused, since what
	// its handler does cannot be told from the pod.
	HyperVRuntimeClass = "isoagent-hyperv"
	// HyperVHandler is containerd's runtime handler of Hyper-V isolated
	// Windows containers; the nodes' containerd configuration must define
	// it (process isolation is containerd's default, runhcs-wcow-process).
	HyperVHandler = "runhcs-wcow-hypervisor"
	// SpecLabel names the spec a workload and its pods come from; the
	// admission policy matches the policy's secret rules against it.
	SpecLabel = "isoagent.io/spec"
	// HostsLabelPrefix starts the node label that stands for a spec's host
	// globs, which no node selector can express: a node labelled
	// hosts.isoagent.io/<spec> is one of the spec's hosts.
	HostsLabelPrefix = "hosts.isoagent.io/"
	// DeviceResourcePrefix starts the extended resource that asks a device
	// plugin for a device class: devices.isoagent.io/<class GUID, lower
	// case>.
	DeviceResourcePrefix = "devices.isoagent.io/"
	// WindowsBuildLabel is the node label that holds a node's Windows
	// build, such as 10.0.20348.
	WindowsBuildLabel = "node.kubernetes.io/windows-build"

	managedBy = "isoagent-export"
)

// Options are the choices of an export beyond the specs and the policy.
type Options struct {
	// Namespace is the namespace of the workloads, and the one the
	// admission policy is bound to. Empty leaves the workloads without
	// one (kubectl's current namespace) and binds the policy to every
	// namespace but kube-system.
	Namespace string
}

// Note is something of a spec that has no Kubernetes equivalent, or that
// changes on the way; an export says every one.
type Note struct {
	Spec    string      // the spec's name
	Source  spec.Source // where the spec was read
	Field   string      // the spec field, such as spec.network.mode
	Message string
}

// String formats n for a terminal: file:line: spec: field: message.
func (n Note) String() string {
	var b strings.Builder
	if n.Source.File != "" {
		fmt.Fprintf(&b, "%s:%d: ", n.Source.File, n.Source.Line)
	}
	fmt.Fprintf(&b, "%s: ", n.Spec)
	if n.Field != "" {
		b.WriteString(n.Field + ": ")
	}
	b.WriteString(n.Message)
	return b.String()
}

// Object is one exported Kubernetes object with where it comes from.
type Object struct {
	// Object is a typed object of k8s.io/api with its TypeMeta set.
	Object runtime.Object
	// Specs are the specs the object is made of: one for a workload, two
	// or more for a pod of containers that share a network, none for the
	// cluster-wide objects.
	Specs []*spec.Container
	// Notes are what the object does not carry of its specs, or carries
	// differently.
	Notes []Note
	// Comment says what the object is for; Write puts it above the object.
	Comment string
}

// Kind returns the object's kind, such as Deployment.
func (o Object) Kind() string { return o.Object.GetObjectKind().GroupVersionKind().Kind }

// Name returns the object's name.
func (o Object) Name() string {
	if m, ok := o.Object.(metav1.Object); ok {
		return m.GetName()
	}
	return ""
}

// Export turns specs, a folder's specs in force, and p, the boundary policy
// (nil for none, which allows nothing that pierces isolation), into
// Kubernetes objects: the workloads in spec name order, then the
// RuntimeClass when a spec uses Hyper-V isolation, then the admission
// policy and its binding. A spec that shares another's network
// (network: container:<name>) joins that spec's pod as a second container.
// Every part of a spec that has no equivalent is a Note of its object.
func Export(specs []*spec.Container, p *policy.Policy, opts Options) []Object {
	specs = slices.SortedFunc(slices.Values(specs), func(a, b *spec.Container) int { return strings.Compare(a.Name(), b.Name()) })
	byName := make(map[string]*spec.Container, len(specs))
	for _, c := range specs {
		byName[c.Name()] = c
	}
	// Containers sharing a network join the pod of the spec they name,
	// when that spec exists and shares no network itself.
	joiners := map[string][]*spec.Container{}
	joined := map[string]bool{}
	for _, c := range specs {
		if to, ok := byName[c.Spec.Network.SharedWith()]; ok && to.Spec.Network.SharedWith() == "" {
			joiners[to.Name()] = append(joiners[to.Name()], c)
			joined[c.Name()] = true
		}
	}
	var out []Object
	hyperv := false
	for _, c := range specs {
		if joined[c.Name()] {
			continue
		}
		o := workload(append([]*spec.Container{c}, joiners[c.Name()]...), opts)
		if podSpecOf(o.Object).RuntimeClassName != nil {
			hyperv = true
		}
		out = append(out, o)
	}
	if hyperv {
		out = append(out, runtimeClass())
	}
	return append(out, admission(p, opts)...)
}

// workload builds the workload of the pod made of cs: cs[0] is the spec
// whose pod it is, the others share its network.
func workload(cs []*spec.Container, opts Options) Object {
	b := &podBuilder{main: cs[0]}
	for _, c := range cs {
		b.add(c)
	}
	main := cs[0]
	labels, annotations := b.labels(main), b.annotations(main)
	for _, c := range cs[1:] {
		if !maps.Equal(c.Metadata.Labels, main.Metadata.Labels) || !maps.Equal(c.Metadata.Annotations, main.Metadata.Annotations) {
			b.note(c, "metadata", "the pod it joins carries %s's labels and annotations; this spec's are not used", main.Name())
		}
	}
	meta := metav1.ObjectMeta{Name: main.Name(), Namespace: opts.Namespace, Labels: labels, Annotations: annotations}
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels), Annotations: maps.Clone(annotations)},
		Spec:       b.pod,
	}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{SpecLabel: main.Name()}}
	o := Object{Specs: cs}
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyAlways
	for _, c := range cs {
		if len(c.Spec.DependsOn) > 0 {
			b.note(c, "spec.dependsOn", "has no equivalent: Kubernetes starts pods in no order; have %s wait for %s itself, such as with an init container that polls it", c.Name(), c.Spec.DependsOn[0].Name)
		}
	}
	switch kind := workloadKind(main); kind {
	case "CronJob":
		o.Object, o.Comment = cronJob(b, main, meta, tmpl)
	case "DaemonSet":
		o.Object = &appsv1.DaemonSet{TypeMeta: typeMeta("apps/v1", kind), ObjectMeta: meta,
			Spec: appsv1.DaemonSetSpec{Selector: selector, Template: tmpl}}
		o.Comment = fmt.Sprintf("spec %s picks its hosts: a DaemonSet runs it on each node that matches.", main.Name())
	case "Job":
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		// The agent restarts a failing container without end, with the
		// kubelet's own backoff; a Job counts those restarts.
		backoff := int32(1<<31 - 1)
		if main.Spec.RestartPolicy == spec.RestartNever {
			tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
			backoff = 0
		}
		o.Object = &batchv1.Job{TypeMeta: typeMeta("batch/v1", kind), ObjectMeta: meta,
			Spec: batchv1.JobSpec{BackoffLimit: &backoff, Template: tmpl}}
		o.Comment = fmt.Sprintf("spec %s runs to completion (restartPolicy %s): a Job.", main.Name(), main.Spec.RestartPolicy)
		if main.Spec.Hosts != nil || main.Spec.Selector != nil {
			b.note(main, "spec.hosts", "a spec that runs to completion on each of its hosts has no Kubernetes workload (a DaemonSet's pods always restart); this Job runs it once, on one node that matches")
		}
	default:
		one := int32(1)
		o.Object = &appsv1.Deployment{TypeMeta: typeMeta("apps/v1", kind), ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: selector, Template: tmpl,
				// One container per spec, as on a host: the old pod goes
				// before the new one starts, so a host port is never held
				// twice.
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
		o.Comment = fmt.Sprintf("spec %s: one replica, as on a host.", main.Name())
	}
	if len(cs) > 1 {
		names := make([]string, len(cs)-1)
		for i, c := range cs[1:] {
			names[i] = c.Name()
		}
		o.Comment += fmt.Sprintf(" Its pod also holds %s, which shares its network.", strings.Join(names, ", "))
	}
	o.Notes = b.notes
	return o
}

// workloadKind chooses the workload of a spec.
func workloadKind(c *spec.Container) string {
	switch {
	case c.Spec.Schedule != "":
		return "CronJob"
	case c.Spec.RestartPolicy == spec.RestartNever || c.Spec.RestartPolicy == spec.RestartOnFailure:
		return "Job"
	case len(c.Spec.Hosts) > 0 || len(c.Spec.Selector) > 0:
		return "DaemonSet"
	}
	return "Deployment"
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// podSpecOf returns the pod spec of a workload object, or nil.
func podSpecOf(obj runtime.Object) *corev1.PodSpec {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		return &o.Spec.Template.Spec
	case *batchv1.Job:
		return &o.Spec.Template.Spec
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.Spec
	case *corev1.Pod:
		return &o.Spec
	}
	return nil
}

// runtimeClass is the RuntimeClass of Hyper-V isolation.
func runtimeClass() Object {
	return Object{
		Object: &nodev1.RuntimeClass{
			TypeMeta:   typeMeta("node.k8s.io/v1", "RuntimeClass"),
			ObjectMeta: metav1.ObjectMeta{Name: HyperVRuntimeClass, Labels: map[string]string{"app.kubernetes.io/managed-by": managedBy}},
			Handler:    HyperVHandler,
			Scheduling: &nodev1.Scheduling{NodeSelector: map[string]string{corev1.LabelOSStable: "windows"}},
		},
		Comment: "Hyper-V isolation (isolation: hyperv): each pod in its own utility VM. The nodes' containerd must define the " +
			HyperVHandler + " runtime handler.",
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
