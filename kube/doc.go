// Package kube exports a folder of isoagent specs and its boundary policy
// as Kubernetes manifests for a cluster with Windows nodes (issue 21,
// docs/kubernetes.md): one workload per spec (a Deployment, a DaemonSet
// for a spec that picks its hosts, a Job for one that runs to
// completion), a RuntimeClass for Hyper-V isolation, and a
// ValidatingAdmissionPolicy with its binding, so that the cluster refuses
// what the agent would refuse.
//
// Export builds the objects from the typed Kubernetes API (k8s.io/api);
// Write and WriteDir serialise them. It is pure: it reads its arguments
// and nothing else, neither the host nor the cluster.
//
// It promises never to drop a part of a spec silently: whatever has no
// Kubernetes equivalent, or changes on the way, is a Note of the spec,
// which Write puts as a comment above the object and a command prints.
// Secrets are exported as references by name, never with their values,
// which the spec does not hold anyway.
//
// Each feature of a spec maps in a function of its own (see podFeatures),
// so that a new spec field is one more function.
package kube
