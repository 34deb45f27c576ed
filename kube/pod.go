package kube

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winbuild"
)

// podBuilder builds the pod of one spec and the specs that share its
// network, one feature of a spec at a time.
type podBuilder struct {
	main  *spec.Container // the spec whose pod it is
	pod   corev1.PodSpec
	notes []Note
}

// podFeature maps one feature of spec c into the pod, onto ctr, c's
// container in it. Features that are the pod's rather than a container's
// (isolation, placement, DNS) are taken from the pod's main spec; a
// joining spec that asks for something else gets a note.
type podFeature func(b *podBuilder, c *spec.Container, ctr *corev1.Container)

// podFeatures are the features of a spec in the order they map.
var podFeatures = []podFeature{
	(*podBuilder).process,
	(*podBuilder).user,
	(*podBuilder).isolation,
	(*podBuilder).placement,
	(*podBuilder).stopTimeout,
	(*podBuilder).resources,
	(*podBuilder).mounts,
	(*podBuilder).pipes,
	(*podBuilder).ports,
	(*podBuilder).network,
	(*podBuilder).devices,
	(*podBuilder).hostname,
	(*podBuilder).credentialSpec,
	(*podBuilder).secrets,
	(*podBuilder).probes,
	(*podBuilder).annotationNotes,
}

// add maps spec c as a container of the pod.
func (b *podBuilder) add(c *spec.Container) {
	ctr := corev1.Container{Name: c.Name()}
	for _, f := range podFeatures {
		f(b, c, &ctr)
	}
	b.pod.Containers = append(b.pod.Containers, ctr)
}

func (b *podBuilder) note(c *spec.Container, field, format string, args ...any) {
	b.notes = append(b.notes, Note{Spec: c.Name(), Source: c.Source, Field: field, Message: fmt.Sprintf(format, args...)})
}

// joining reports whether c joins the main spec's pod.
func (b *podBuilder) joining(c *spec.Container) bool { return c != b.main }

// labels are the labels of the main spec's workload and pods: the spec's
// own (those Kubernetes takes), its name and who made them.
func (b *podBuilder) labels(c *spec.Container) map[string]string {
	l := map[string]string{SpecLabel: c.Name(), "app.kubernetes.io/name": c.Name(), "app.kubernetes.io/managed-by": managedBy}
	for _, k := range sortedKeys(c.Metadata.Labels) {
		v := c.Metadata.Labels[k]
		if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
			b.note(c, "metadata.labels."+k, "is not a Kubernetes label (%s), so it is left out", strings.Join(errs, "; "))
			continue
		}
		if _, taken := l[k]; taken {
			b.note(c, "metadata.labels."+k, "is the export's own label; the spec's value %q is left out", v)
			continue
		}
		l[k] = v
	}
	return l
}

// annotations are the spec's annotations; Kubernetes takes them all.
func (b *podBuilder) annotations(c *spec.Container) map[string]string {
	if len(c.Metadata.Annotations) == 0 {
		return nil
	}
	a := make(map[string]string, len(c.Metadata.Annotations))
	for k, v := range c.Metadata.Annotations {
		a[k] = v
	}
	return a
}

// annotationNotes says what the agent's annotations do not do in a
// cluster.
func (b *podBuilder) annotationNotes(c *spec.Container, _ *corev1.Container) {
	if c.Metadata.KeepOnPrune() {
		b.note(c, "metadata.annotations."+spec.AnnotationPrune, "keeps the container when its spec is deleted; in a cluster that is the deploying tool's choice (kubectl apply --prune leaves objects alone unless told, Argo CD reads argocd.argoproj.io/sync-options: Prune=false, Flux kustomize.toolkit.fluxcd.io/prune: disabled)")
	}
}

// process maps what the container runs: image, command, folder and
// environment.
func (b *podBuilder) process(c *spec.Container, ctr *corev1.Container) {
	s := &c.Spec
	// The canonical reference, so the admission policy's image patterns
	// see what the agent's see.
	ctr.Image = s.Image.Canonical()
	ctr.ImagePullPolicy = corev1.PullIfNotPresent
	// The spec's command is the whole command line, the image's entrypoint
	// included, as Kubernetes' command is.
	ctr.Command = s.Command
	ctr.WorkingDir = s.WorkingDir
	for _, k := range sortedKeys(s.Env) {
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: k, Value: s.Env[k]})
	}
}

// user maps the account the container runs as.
func (b *podBuilder) user(c *spec.Container, ctr *corev1.Container) {
	if c.Spec.User != "" {
		windowsOptions(ctr).RunAsUserName = &c.Spec.User
	}
}

func windowsOptions(ctr *corev1.Container) *corev1.WindowsSecurityContextOptions {
	if ctr.SecurityContext == nil {
		ctr.SecurityContext = &corev1.SecurityContext{}
	}
	if ctr.SecurityContext.WindowsOptions == nil {
		ctr.SecurityContext.WindowsOptions = &corev1.WindowsSecurityContextOptions{}
	}
	return ctr.SecurityContext.WindowsOptions
}

// isolation maps the isolation mode: Hyper-V as the RuntimeClass, process
// isolation as the node selector of the image's Windows build, since
// process isolation runs an image only on a compatible host build.
func (b *podBuilder) isolation(c *spec.Container, _ *corev1.Container) {
	s := &c.Spec
	build := s.Image.Build()
	if b.joining(c) {
		if s.Isolation != b.main.Spec.Isolation {
			b.note(c, "spec.isolation", "%s; the pod it joins takes %s's (%s), as one pod has one isolation", s.Isolation, b.main.Name(), b.main.Spec.Isolation)
		}
		if main := b.main.Spec.Image.Build(); build != 0 && main != 0 && build != main && b.main.Spec.Isolation != spec.IsolationHyperV {
			b.note(c, "spec.image", "is for Windows build %d but its pod lands on nodes of build %d (%s's image); process isolation will not start it there", build, main, b.main.Name())
		}
		return
	}
	if b.pod.NodeSelector == nil {
		b.pod.NodeSelector = map[string]string{}
	}
	b.pod.NodeSelector[corev1.LabelOSStable] = "windows"
	b.pod.OS = &corev1.PodOS{Name: corev1.Windows}
	if s.Isolation == spec.IsolationHyperV {
		rc := HyperVRuntimeClass
		b.pod.RuntimeClassName = &rc
		return
	}
	if s.Isolation == spec.IsolationDefault {
		b.note(c, "spec.isolation", "default is the host's default, process isolation on the Windows Server nodes of a cluster; the pod runs with process isolation")
	}
	if build == 0 {
		b.note(c, "spec.image", "its tag names no Windows build, so the pod is not held to nodes of a compatible build (%s); process isolation fails on the others. Use a tag such as ltsc2022, or isolation: hyperv", WindowsBuildLabel)
	} else {
		b.pod.NodeSelector[WindowsBuildLabel] = fmt.Sprintf("10.0.%d", build)
	}
	if s.OnVersionMismatch == spec.MismatchHyperV {
		what := "of that build"
		if build != 0 {
			what = fmt.Sprintf("of build 10.0.%d (%s)", build, releaseOr(build))
		}
		b.note(c, "spec.onVersionMismatch", "hyperv has no equivalent: a pod has one runtime class, so it runs with process isolation, on nodes %s only; for every node build write isolation: hyperv", what)
	}
}

func releaseOr(build uint16) string {
	if n := winbuild.ReleaseName(build); n != "" {
		return n
	}
	return strconv.Itoa(int(build))
}

// placement maps the hosts a spec picks: its selector as node labels, its
// host names as node names, its host globs as a node label an operator
// sets.
func (b *podBuilder) placement(c *spec.Container, _ *corev1.Container) {
	s := &c.Spec
	if b.joining(c) {
		if len(s.Hosts) > 0 || len(s.Selector) > 0 {
			b.note(c, "spec.hosts", "the pod it joins runs where %s's spec says; this spec's hosts and selector are not used", b.main.Name())
		}
		return
	}
	for _, k := range sortedKeys(s.Selector) {
		b.pod.NodeSelector[k] = s.Selector[k]
	}
	if len(s.Selector) > 0 {
		b.note(c, "spec.selector", "host labels become node labels: label the nodes, such as kubectl label node NODE %s", selectorArgs(s.Selector))
	}
	if len(s.Hosts) == 0 {
		return
	}
	var names []string
	globs := false
	for _, h := range s.Hosts {
		if strings.ContainsAny(h, "*?[") {
			globs = true
			continue
		}
		// Node names are the host names in lower case.
		names = append(names, strings.ToLower(h))
	}
	var terms []corev1.NodeSelectorTerm
	if len(names) > 0 {
		terms = append(terms, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: names}}})
	}
	if globs {
		label := HostsLabelPrefix + c.Name()
		terms = append(terms, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: label, Operator: corev1.NodeSelectorOpExists}}})
		b.note(c, "spec.hosts", "host name globs (%s) have no node selector; the pod runs on nodes labelled %s, so label the nodes they mean: kubectl label node NODE %s=", strings.Join(s.Hosts, ", "), label, label)
	}
	b.pod.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
}

func selectorArgs(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

// stopTimeout maps how long a container has to stop.
func (b *podBuilder) stopTimeout(c *spec.Container, _ *corev1.Container) {
	d := time.Duration(c.Spec.StopTimeout)
	secs := int64(d / time.Second)
	if d%time.Second != 0 {
		secs++
		b.note(c, "spec.stopTimeout", "%s; Kubernetes counts whole seconds, so the pod gets %ds", d, secs)
	}
	if b.pod.TerminationGracePeriodSeconds == nil || *b.pod.TerminationGracePeriodSeconds < secs {
		b.pod.TerminationGracePeriodSeconds = &secs
	}
}

// resources maps the limits.
func (b *podBuilder) resources(c *spec.Container, ctr *corev1.Container) {
	r := c.Spec.Resources
	limits := corev1.ResourceList{}
	if r.CPUCount > 0 {
		limits[corev1.ResourceCPU] = *resource.NewQuantity(int64(r.CPUCount), resource.DecimalSI)
	}
	if r.MemoryMB > 0 {
		limits[corev1.ResourceMemory] = *resource.NewQuantity(int64(r.MemoryMB)<<20, resource.BinarySI)
	}
	if r.CPUMaximumPercent > 0 {
		b.note(c, "spec.resources.cpuMaximumPercent", "%d%% has no equivalent: Kubernetes limits CPU in processors (limits.cpu), not as a share of the node; set limits.cpu to the share you mean", r.CPUMaximumPercent)
	}
	if len(limits) > 0 {
		ctr.Resources.Limits = limits
	}
}

// mounts maps host folders as hostPath volumes.
func (b *podBuilder) mounts(c *spec.Container, ctr *corev1.Container) {
	for i, m := range c.Spec.Mounts {
		name := volumeName(c, "mount", i)
		b.pod.Volumes = append(b.pod.Volumes, hostPathVolume(name, m.HostPath.String(), corev1.HostPathDirectory))
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: m.ContainerPath.String(), ReadOnly: m.ReadOnly})
	}
}

// pipes maps named pipes, which Kubernetes mounts as hostPath volumes
// too.
func (b *podBuilder) pipes(c *spec.Container, ctr *corev1.Container) {
	for i, p := range c.Spec.Pipes {
		name := volumeName(c, "pipe", i)
		b.pod.Volumes = append(b.pod.Volumes, hostPathVolume(name, p.HostPipe.String(), corev1.HostPathUnset))
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: p.ContainerPipe.String()})
	}
}

func hostPathVolume(name, path string, t corev1.HostPathType) corev1.Volume {
	hp := &corev1.HostPathVolumeSource{Path: path}
	if t != corev1.HostPathUnset {
		hp.Type = &t
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: hp}}
}

// volumeName names a volume of spec c uniquely in its pod and within the
// 63 characters Kubernetes allows.
func volumeName(c *spec.Container, what string, i int) string {
	suffix := fmt.Sprintf("-%s-%d", what, i)
	prefix := c.Name()
	if len(prefix)+len(suffix) > validation.DNS1123LabelMaxLength {
		prefix = strings.TrimRight(prefix[:validation.DNS1123LabelMaxLength-len(suffix)], "-")
	}
	return prefix + suffix
}

// ports maps host ports.
func (b *podBuilder) ports(c *spec.Container, ctr *corev1.Container) {
	for _, p := range c.Spec.Ports {
		ctr.Ports = append(ctr.Ports, corev1.ContainerPort{
			ContainerPort: int32(p.ContainerPort), HostPort: int32(p.HostPort), Protocol: corev1.Protocol(strings.ToUpper(p.Protocol))})
	}
}

// network maps the network mode and DNS.
func (b *podBuilder) network(c *spec.Container, _ *corev1.Container) {
	n := c.Spec.Network
	switch {
	case n.Mode == spec.NetworkNone:
		b.note(c, "spec.network.mode", "none has no equivalent: every pod has a network; to keep it off the network, apply a NetworkPolicy that allows no ingress or egress to it")
	case n.SharedWith() != "" && !b.joining(c):
		b.note(c, "spec.network.mode", "%s: that spec is not in the folder or shares a network itself, so this pod has a network of its own", n.Mode)
	case n.SharedWith() != "":
		b.note(c, "spec.network.mode", "%s becomes a second container in %s's pod, which shares its network (and its restarts and placement)", n.Mode, b.main.Name())
		if c.Spec.RestartPolicy != b.main.Spec.RestartPolicy {
			b.note(c, "spec.restartPolicy", "%s; the pod restarts its containers as %s's spec says (%s)", c.Spec.RestartPolicy, b.main.Name(), b.main.Spec.RestartPolicy)
		}
	}
	if b.joining(c) {
		if len(n.DNS) > 0 || len(n.DNSSearch) > 0 {
			b.note(c, "spec.network.dns", "the pod it joins has %s's DNS settings", b.main.Name())
		}
		return
	}
	if len(n.DNS) == 0 && len(n.DNSSearch) == 0 {
		return
	}
	cfg := &corev1.PodDNSConfig{Searches: n.DNSSearch}
	for _, a := range n.DNS {
		cfg.Nameservers = append(cfg.Nameservers, a.String())
	}
	b.pod.DNSConfig = cfg
	if len(cfg.Nameservers) > 0 {
		// The spec's servers alone, as on a host; the cluster's DNS is not
		// asked.
		b.pod.DNSPolicy = corev1.DNSNone
	}
}

// devices maps device classes as extended resources of a device plugin,
// the way Kubernetes hands devices to containers.
func (b *podBuilder) devices(c *spec.Container, ctr *corev1.Container) {
	for i, d := range c.Spec.Devices {
		if ctr.Resources.Limits == nil {
			ctr.Resources.Limits = corev1.ResourceList{}
		}
		name := DeviceResourcePrefix + strings.ToLower(d.ClassGUID)
		ctr.Resources.Limits[corev1.ResourceName(name)] = *resource.NewQuantity(1, resource.DecimalSI)
		b.note(c, fmt.Sprintf("spec.devices[%d]", i), "Kubernetes has no device field: devices come from a device plugin; the container asks for %s, which a device plugin on the nodes must advertise, handing out class/%s (as the DirectX device plugin does for GPUs)", name, d.ClassGUID)
	}
}

// hostname maps the host name: the spec's name unless it sets one.
func (b *podBuilder) hostname(c *spec.Container, _ *corev1.Container) {
	h := c.Spec.Hostname
	if b.joining(c) {
		if h != "" {
			b.note(c, "spec.hostname", "the pod it joins has one host name, %s's", b.main.Name())
		}
		return
	}
	if h == "" {
		h = c.Name()
	}
	if errs := validation.IsDNS1123Label(strings.ToLower(h)); len(errs) > 0 {
		b.note(c, "spec.hostname", "%q is not a pod host name (%s); the pod gets its own name", h, strings.Join(errs, "; "))
		return
	}
	b.pod.Hostname = strings.ToLower(h)
}

// credentialSpec maps the gMSA credential spec, which the cluster holds as
// a GMSACredentialSpec resource of the same name.
func (b *podBuilder) credentialSpec(c *spec.Container, ctr *corev1.Container) {
	name := c.Spec.CredentialSpec
	if name == "" {
		return
	}
	kname := CredentialSpecName(name)
	if errs := validation.IsDNS1123Subdomain(kname); len(errs) > 0 {
		b.note(c, "spec.credentialSpec", "%q cannot name a GMSACredentialSpec resource (%s); rename the credential spec", name, strings.Join(errs, "; "))
		return
	}
	windowsOptions(ctr).GMSACredentialSpecName = &kname
	b.note(c, "spec.credentialSpec", "the credential spec is a GMSACredentialSpec resource %s in the cluster (the gMSA webhook fills it in): create it from the file's content and let the pod's service account use it", kname)
}

// CredentialSpecName is the name of the GMSACredentialSpec resource that
// stands for the credential spec file name: the name in lower case, as
// resource names are.
func CredentialSpecName(file string) string { return strings.ToLower(file) }

// secrets maps secrets as references to Secrets of the namespace: envFrom
// as envFrom, secret mounts as read-only secret volumes. Values never
// reach the manifests; the spec has none.
func (b *podBuilder) secrets(c *spec.Container, ctr *corev1.Container) {
	for _, e := range c.Spec.EnvFrom {
		ctr.EnvFrom = append(ctr.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: e.Secret}}})
	}
	for i, m := range c.Spec.SecretMounts {
		name := volumeName(c, "secret", i)
		b.pod.Volumes = append(b.pod.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: m.Secret}}})
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: m.ContainerPath.String(), ReadOnly: true})
	}
}
