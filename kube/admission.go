package kube

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	admv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/isoagent/isoagent/policy"
)

// The admission policy is the boundary policy (package policy) in CEL:
// the cluster refuses a pod, or a workload whose pods would be, that maps
// what the agent's Checker refuses. Its values are written into the
// expressions, so a changed policy file is exported again. Where a
// Kubernetes object can say more than a spec (other volume types' host
// access, host namespaces, HostProcess containers, other runtime
// classes, other extended resources) the policy refuses it: deny by
// default.
//
// Paths are compared in lower case with '/' read as '\', on whole
// components, as winpath compares them; a host path or pipe that is not
// in the normal form winpath writes (no \\?\ prefix, no trailing
// separator, no "." or ".." components, ASCII only) is refused rather
// than normalised, since CEL cannot resolve what Windows would make of it.

// Never-by-glob lists, as policy.Checker holds them (sensitiveMount,
// sensitivePipe): kept in step with it by TestNeverByGlobAgrees, which
// asks the Checker about every entry.
var (
	// sensitiveFolderREs match host folders (lower case) a policy allows
	// only by naming them exactly.
	sensitiveFolderREs = []string{
		`^[a-z]:\\$`,             // a drive root
		`^[a-z]:\\windows(\\|$)`, // the Windows folder
		`^[a-z]:\\users(\\[^\\]+)?$`,
		`^[a-z]:\\(system volume information|recovery|boot|\$[^\\]*)(\\|$)`,
		`^[a-z]:\\programdata(\\(docker|containerd|microsoft)(\\.*)?)?$`,
		`^[a-z]:\\program files(\\(docker|containerd)(\\.*)?)?$`,
		`^\\\\[^\\]+\\[^\\]*\$(\\|$)`, // administrative shares
	}
	sensitivePipePrefixes = []string{"docker", "containerd", "buildkit", "moby", "podman", "nerdctl", "kube", "csi-proxy", "hcs", "vmcompute", "pshost."}
	sensitivePipeNames    = []string{"lsass", "lsarpc", "samr", "netlogon", "svcctl", "ntsvcs", "winreg", "atsvc", "eventlog",
		"spoolss", "srvsvc", "wkssvc", "epmapper", "initshutdown", "protected_storage", "scerpc", "openssh-ssh-agent"}
)

// Well-formedness of host folders and pipe names, lower case.
const (
	folderFormRE   = `^([a-z]:\\|[a-z]:(\\[^\\]+)+|\\\\[^\\.?][^\\]*\\[^\\]+(\\[^\\]+)*)$`
	folderBadRE    = `[^\x20-\x7e]|[<>"|?*]|^..+:|(^|\\)\.\.?(\\|$)|[. ](\\|$)|(^|\\)(con|prn|aux|nul|conin\$|conout\$|com[0-9]|lpt[0-9]) *(\.[^\\]*)?(\\|$)`
	shortNameRE    = `~[0-9]`
	pipeFormRE     = `^[\x20-\x5b\x5d-\x7e]{1,247}$`
	pipeBadRE      = `[. ]$`
	pipePrefix     = `\\.\pipe\`
	hasRegistryRE  = `^([^/]*[.:][^/]*|localhost)/`
	allowedPodKeys = "cpu, memory, ephemeral-storage"
)

// admission returns the ValidatingAdmissionPolicy of p and its binding.
func admission(p *policy.Policy, opts Options) []Object {
	name := "isoagent-boundary"
	if opts.Namespace != "" {
		name += "-" + opts.Namespace
	}
	file := "no policy file (nothing that pierces isolation is allowed)"
	if p != nil {
		file = "the policy file " + p.File
	}
	fail := admv1.Fail
	vap := &admv1.ValidatingAdmissionPolicy{
		TypeMeta:   typeMeta("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": managedBy}},
		Spec: admv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    &fail,
			MatchConstraints: &admv1.MatchResources{ResourceRules: resourceRules()},
			Variables:        variables(rulesOf(p)),
			Validations:      validations(rulesOf(p), file),
		},
	}
	binding := &admv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   typeMeta("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": managedBy}},
		Spec: admv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admv1.ValidationAction{admv1.Deny},
			MatchResources:    &admv1.MatchResources{NamespaceSelector: namespaceSelector(opts.Namespace)},
		},
	}
	where := "every namespace but kube-system (whose Windows components, such as kube-proxy and the CNI, run as HostProcess pods)"
	if opts.Namespace != "" {
		where = "namespace " + opts.Namespace
	}
	return []Object{
		{Object: vap, Comment: "The boundary policy (" + file + ") as admission: the cluster refuses what the agent would refuse."},
		{Object: binding, Comment: "Enforces " + name + " in " + where + "."},
	}
}

func namespaceSelector(ns string) *metav1.LabelSelector {
	if ns != "" {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: []string{ns}}}}
	}
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpNotIn, Values: []string{metav1.NamespaceSystem}}}}
}

// resourceRules match pods and everything that holds a pod template.
func resourceRules() []admv1.NamedRuleWithOperations {
	rule := func(group string, resources ...string) admv1.NamedRuleWithOperations {
		return admv1.NamedRuleWithOperations{RuleWithOperations: admv1.RuleWithOperations{
			Operations: []admv1.OperationType{admv1.Create, admv1.Update},
			Rule:       admv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources},
		}}
	}
	return []admv1.NamedRuleWithOperations{
		rule("", "pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates"),
		rule("apps", "deployments", "daemonsets", "statefulsets", "replicasets"),
		rule("batch", "jobs", "cronjobs"),
	}
}

// variables find the pod spec in every kind matched, and what the
// validations look at in it.
func variables(r rules) []admv1.Variable {
	v := func(name, expr string) admv1.Variable { return admv1.Variable{Name: name, Expression: expr} }
	norm := `.replace('/', '\\').lowerAscii()`
	isPipe := `.startsWith(` + lit(pipePrefix) + `)`
	return []admv1.Variable{
		v("template", `object.kind == 'Pod' ? object : object.kind == 'PodTemplate' ? object.template : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec.template`),
		v("pod", `variables.template.spec`),
		v("specName", `has(variables.template.metadata) && has(variables.template.metadata.labels) && `+lit(SpecLabel)+` in variables.template.metadata.labels ? variables.template.metadata.labels[`+lit(SpecLabel)+`] : has(object.metadata.name) ? object.metadata.name : ''`),
		v("containers", `variables.pod.containers + (has(variables.pod.initContainers) ? variables.pod.initContainers : [])`),
		v("ephemeral", `has(variables.pod.ephemeralContainers) ? variables.pod.ephemeralContainers : []`),
		v("volumes", `has(variables.pod.volumes) ? variables.pod.volumes : []`),
		v("mountsOf", `variables.containers.map(c, has(c.volumeMounts) ? c.volumeMounts : []) + variables.ephemeral.map(c, has(c.volumeMounts) ? c.volumeMounts : [])`),
		v("images", `variables.containers.map(c, c.image) + variables.ephemeral.map(c, c.image)`),
		v("isolation", `!has(variables.pod.runtimeClassName) || variables.pod.runtimeClassName == '' ? 'process' : variables.pod.runtimeClassName == `+lit(HyperVRuntimeClass)+` ? 'hyperv' : ''`),
		v("windowsOptions", `(has(variables.pod.securityContext) && has(variables.pod.securityContext.windowsOptions) ? [variables.pod.securityContext.windowsOptions] : []) + `+
			`variables.containers.filter(c, has(c.securityContext) && has(c.securityContext.windowsOptions)).map(c, c.securityContext.windowsOptions) + `+
			`variables.ephemeral.filter(c, has(c.securityContext) && has(c.securityContext.windowsOptions)).map(c, c.securityContext.windowsOptions)`),
		v("resourceNames", `variables.containers.map(c, has(c.resources) ? (has(c.resources.limits) ? c.resources.limits.map(k, k) : []) + (has(c.resources.requests) ? c.resources.requests.map(k, k) : []) : [])`),
		v("envSecrets", `variables.containers.map(c, (has(c.envFrom) ? c.envFrom.filter(e, has(e.secretRef)).map(e, e.secretRef.name) : []) + (has(c.env) ? c.env.filter(e, has(e.valueFrom) && has(e.valueFrom.secretKeyRef)).map(e, e.valueFrom.secretKeyRef.name) : [])) + `+
			`variables.ephemeral.map(c, (has(c.envFrom) ? c.envFrom.filter(e, has(e.secretRef)).map(e, e.secretRef.name) : []) + (has(c.env) ? c.env.filter(e, has(e.valueFrom) && has(e.valueFrom.secretKeyRef)).map(e, e.valueFrom.secretKeyRef.name) : []))`),
		v("projectedSecrets", `variables.volumes.filter(v, has(v.projected) && has(v.projected.sources)).map(v, v.projected.sources.filter(s, has(s.secret)).map(s, s.secret.name))`),
		// What the policy refuses, each list for one validation and its
		// message.
		v("refusedImages", `variables.images.filter(x, !(`+r.isolationOK("x")+`))`),
		v("refusedFolders", `variables.volumes.filter(v, has(v.hostPath) && [v.hostPath.path`+norm+`].all(p, !p`+isPipe+` && !(`+r.folderOK("p", false)+`))).map(v, v.hostPath.path)`),
		v("writableFolders", `variables.volumes.filter(v, has(v.hostPath) && [v.hostPath.path`+norm+`].all(p, !p`+isPipe+` && !(`+r.folderOK("p", true)+`)) && !`+readOnlyMounts("v")+`).map(v, v.hostPath.path)`),
		v("refusedPipes", `variables.volumes.filter(v, has(v.hostPath) && [v.hostPath.path`+norm+`].all(p, p`+isPipe+` && [p.substring(`+strconv.Itoa(len(pipePrefix))+`)].all(n, !(`+r.pipeOK("n")+`)))).map(v, v.hostPath.path)`),
	}
}

// rules is a policy in the terms the CEL needs, lower case.
type rules struct {
	isolation      []string
	images         []imageRule
	exactAll       []string // mount paths
	exactRW        []string
	prefixAll      []string
	prefixRW       []string
	pipesExact     []string
	pipeGlobs      []string // regexes
	ports          []policy.PortRange
	devices        []string // lower case
	networkSharing bool
	credSpecs      []string
	secrets        []secretRule
}

type imageRule struct {
	patterns  []string // regexes
	isolation []string
}

type secretRule struct{ secrets, specs []string } // regexes

func rulesOf(p *policy.Policy) rules {
	var r rules
	if p == nil {
		return r
	}
	for _, iso := range p.Isolation {
		r.isolation = append(r.isolation, string(iso))
	}
	for _, ir := range p.ImageIsolation {
		var x imageRule
		for _, pat := range ir.Images {
			x.patterns = append(x.patterns, globRE(pat))
		}
		for _, iso := range ir.Isolation {
			x.isolation = append(x.isolation, string(iso))
		}
		r.images = append(r.images, x)
	}
	for _, m := range p.Mounts {
		path := strings.ToLower(m.Path.String())
		r.exactAll = append(r.exactAll, path)
		r.prefixAll = append(r.prefixAll, path)
		if !m.ReadOnly {
			r.exactRW = append(r.exactRW, path)
			r.prefixRW = append(r.prefixRW, path)
		}
	}
	for _, pipe := range p.Pipes {
		name := strings.ToLower(pipe.Name())
		if strings.ContainsAny(name, "*?") {
			r.pipeGlobs = append(r.pipeGlobs, globRE(name))
		} else {
			r.pipesExact = append(r.pipesExact, name)
		}
	}
	for _, s := range p.Ports {
		if pr, err := policy.ParsePortRange(s); err == nil {
			r.ports = append(r.ports, pr)
		}
	}
	for _, d := range p.Devices {
		r.devices = append(r.devices, strings.ToLower(d))
	}
	r.networkSharing = p.NetworkSharing
	for _, c := range p.CredentialSpecs {
		r.credSpecs = append(r.credSpecs, CredentialSpecName(c))
	}
	for _, sr := range p.Secrets {
		var x secretRule
		for _, pat := range sr.Secrets {
			x.secrets = append(x.secrets, globRE(pat))
		}
		for _, pat := range sr.Specs {
			x.specs = append(x.specs, globRE(pat))
		}
		r.secrets = append(r.secrets, x)
	}
	return r
}

// globRE is the regular expression of a policy glob: '*' any run of
// characters, '?' one, case ignored.
func globRE(pat string) string {
	var b strings.Builder
	b.WriteString(`(?is)^`)
	for _, r := range pat {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return b.String()
}

// lit is s as a CEL string literal.
func lit(s string) string { return strconv.Quote(s) }

func list(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = lit(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// anyOf joins CEL conditions with ||; none is false.
func anyOf(conds []string) string {
	if len(conds) == 0 {
		return "false"
	}
	return "(" + strings.Join(conds, " || ") + ")"
}

func matchesAny(x string, res []string) string {
	var conds []string
	for _, re := range res {
		conds = append(conds, x+".matches("+lit(re)+")")
	}
	return anyOf(conds)
}

// underAny is whether folder x is one of prefixes or under one, on whole
// components.
func underAny(x string, prefixes []string) string {
	var conds []string
	for _, p := range prefixes {
		if strings.HasSuffix(p, `\`) { // a drive root
			conds = append(conds, x+".startsWith("+lit(p)+")")
		} else {
			conds = append(conds, "("+x+" == "+lit(p)+" || "+x+".startsWith("+lit(p+`\`)+"))")
		}
	}
	return anyOf(conds)
}

// folderOK is whether folder x (lower case, backslashes) may be mapped;
// writable asks whether it may be mapped writable.
func (r rules) folderOK(x string, writable bool) string {
	exact, prefixes := r.exactAll, r.prefixAll
	if writable {
		exact, prefixes = r.exactRW, r.prefixRW
	}
	formed := x + ".matches(" + lit(folderFormRE) + ") && !" + x + ".matches(" + lit(folderBadRE) + ")"
	viaPrefix := "!" + x + ".matches(" + lit(shortNameRE) + ") && !" + matchesAny(x, sensitiveFolderREs) + " && " + underAny(x, prefixes)
	if writable {
		// An exact read-only entry decides: no prefix makes it writable.
		viaPrefix = "!(" + x + " in " + list(r.exactAll) + ") && " + viaPrefix
	}
	return formed + " && (" + x + " in " + list(exact) + " || (" + viaPrefix + "))"
}

// pipeOK is whether pipe name x (lower case) may be mapped.
func (r rules) pipeOK(x string) string {
	sensitive := "(" + x + " in " + list(sensitivePipeNames) + " || " + anyOf(startsWithAll(x, sensitivePipePrefixes)) + ")"
	// Windows strips trailing dots and spaces (\\.\pipe\lsass. opens
	// lsass), so a name that ends in one is refused, not resolved.
	return x + ".matches(" + lit(pipeFormRE) + ") && !" + x + ".matches(" + lit(pipeBadRE) + ") && (" + x + " in " + list(r.pipesExact) + " || (!" + sensitive + " && " + matchesAny(x, r.pipeGlobs) + "))"
}

func startsWithAll(x string, prefixes []string) []string {
	var conds []string
	for _, p := range prefixes {
		conds = append(conds, x+".startsWith("+lit(p)+")")
	}
	return conds
}

// portOK is whether container port p (a ContainerPort) may take its host
// port.
func (r rules) portOK(p string) string {
	proto := "(has(" + p + ".protocol) ? " + p + ".protocol : 'TCP').lowerAscii()"
	var conds []string
	for _, pr := range r.ports {
		conds = append(conds, fmt.Sprintf("(%s.hostPort >= %d && %s.hostPort <= %d && %s == %s)", p, pr.First, p, pr.Last, proto, lit(pr.Protocol)))
	}
	return "!has(" + p + ".hostPort) || " + p + ".hostPort == 0 || " + anyOf(conds)
}

// canonical is image reference x spelled as imageref.Ref.Canonical spells
// it.
func canonical(x string) string {
	hasReg := x + ".matches(" + lit(hasRegistryRE) + ")"
	parts := "[" + hasReg + " ? " + x + ".substring(0, " + x + ".indexOf('/')).lowerAscii() : 'docker.io', " +
		hasReg + " ? " + x + ".substring(" + x + ".indexOf('/') + 1) : " + x + "]"
	return "[" + parts + "].map(l, l[0] in ['docker.io', 'index.docker.io', 'registry-1.docker.io'] ? 'docker.io/' + (l[1].contains('/') ? '' : 'library/') + l[1] : l[0] + '/' + l[1])[0]"
}

// isolationOK is whether image x may run with the pod's isolation: the
// first image rule whose pattern matches decides, else the policy's list.
func (r rules) isolationOK(x string) string {
	iso := "variables.isolation"
	expr := "true"
	if len(r.isolation) > 0 {
		expr = iso + " in " + list(r.isolation)
	}
	for i := len(r.images) - 1; i >= 0; i-- {
		ir := r.images[i]
		expr = "(" + matchesAny("i", ir.patterns) + " ? " + iso + " in " + list(ir.isolation) + " : " + expr + ")"
	}
	if len(r.images) == 0 {
		return expr
	}
	return "[" + canonical(x) + "].all(i, " + expr + ")"
}

// resourceOK is whether a container may ask for resource k.
func (r rules) resourceOK(k string) string {
	devs := make([]string, len(r.devices))
	for i, d := range r.devices {
		devs[i] = DeviceResourcePrefix + d
	}
	return k + " in ['cpu', 'memory', 'ephemeral-storage'] || " + k + ".lowerAscii() in " + list(devs)
}

// secretOK is whether the pod's spec may use secret s.
func (r rules) secretOK(s string) string {
	var conds []string
	for _, sr := range r.secrets {
		conds = append(conds, "("+matchesAny(s, sr.secrets)+" && "+matchesAny("variables.specName", sr.specs)+")")
	}
	return anyOf(conds)
}

func validations(r rules, file string) []admv1.Validation {
	v := func(expr, msg string) admv1.Validation {
		return admv1.Validation{Expression: expr, Message: msg, Reason: ptr(metav1.StatusReasonForbidden)}
	}
	vm := func(expr, msgExpr string) admv1.Validation {
		return admv1.Validation{Expression: expr, MessageExpression: msgExpr, Reason: ptr(metav1.StatusReasonForbidden)}
	}
	allow := " (isoagent boundary policy, from " + file + ")"
	vs := []admv1.Validation{
		v(`!(has(variables.pod.hostNetwork) && variables.pod.hostNetwork) && !(has(variables.pod.hostPID) && variables.pod.hostPID) && !(has(variables.pod.hostIPC) && variables.pod.hostIPC)`,
			"the pod shares the node's network, processes or IPC, which no isoagent spec can"+allow),
		v(`variables.windowsOptions.all(w, !has(w.hostProcess) || !w.hostProcess)`,
			"HostProcess containers run on the node itself, outside any isolation, which no isoagent spec can"+allow),
		v(`variables.isolation != ''`,
			"runtime class "+HyperVRuntimeClass+" (Hyper-V isolation) or none (process isolation) only: what another class's handler does cannot be checked"+allow),
		vm(`size(variables.refusedImages) == 0`,
			`variables.isolation + ' isolation is not allowed for image ' + variables.refusedImages.join(', ') + `+lit(allow)),
		v(`variables.volumes.all(v, `+anyOf(hasAll("v", allowedVolumeTypes))+`)`,
			"volumes may be of the types "+strings.Join(allowedVolumeTypes, ", ")+" only: the others (nfs, iscsi, gitRepo, ...) reach storage the node mounts for the pod, which no isoagent spec can"+allow),
		vm(`size(variables.refusedFolders) == 0`,
			`'host folder ' + variables.refusedFolders.join(', ') + ' is not allowed, or not written in the normal form C:\\data or \\\\server\\share\\data' + `+lit(allow)),
		vm(`size(variables.writableFolders) == 0`,
			`'host folder ' + variables.writableFolders.join(', ') + ' may be mapped read-only only (readOnly: true on every mount of its volume)' + `+lit(allow)),
		vm(`size(variables.refusedPipes) == 0`,
			`'host pipe ' + variables.refusedPipes.join(', ') + ' is not allowed; container-engine, orchestration and system pipes only when named exactly' + `+lit(allow)),
		v(`variables.containers.all(c, !has(c.ports) || c.ports.all(p, `+r.portOK("p")+`))`,
			"a host port is not allowed"+allow),
		v(`variables.resourceNames.all(l, l.all(k, `+r.resourceOK("k")+`)) && !(has(variables.pod.resourceClaims) && size(variables.pod.resourceClaims) > 0)`,
			"containers may ask for "+allowedPodKeys+" and the device classes of the policy ("+DeviceResourcePrefix+"<class GUID>) only"+allow),
		v(`variables.windowsOptions.all(w, has(w.gmsaCredentialSpecName) ? w.gmsaCredentialSpecName.lowerAscii() in `+list(r.credSpecs)+` : !has(w.gmsaCredentialSpec))`,
			"the gMSA credential spec is not allowed (a credential spec is allowed by name only)"+allow),
		v(`variables.envSecrets.all(l, l.all(s, `+r.secretOK("s")+`)) && variables.volumes.filter(v, has(v.secret)).all(v, [v.secret.secretName].all(s, `+r.secretOK("s")+`)) && variables.projectedSecrets.all(l, l.all(s, `+r.secretOK("s")+`))`,
			"a secret is not allowed for this spec (the spec is the pod's "+SpecLabel+" label, else the object's name)"+allow),
	}
	if !r.networkSharing {
		vs = append(vs, v(`size(variables.pod.containers) + (has(variables.pod.initContainers) ? size(variables.pod.initContainers) : 0) + size(variables.ephemeral) <= 1`,
			"the containers of a pod share its network, and the policy does not allow network sharing (networkSharing: true)"+allow))
	}
	return vs
}

// allowedVolumeTypes are the volume sources a pod may use: hostPath,
// checked against the policy, what a spec can say (secret) and what
// Pod Security's restricted profile allows, which is the cluster's own
// storage and governed by its administrators.
var allowedVolumeTypes = []string{"hostPath", "secret", "configMap", "emptyDir", "projected", "downwardAPI", "persistentVolumeClaim", "ephemeral", "csi"}

func hasAll(x string, fields []string) []string {
	var conds []string
	for _, f := range fields {
		conds = append(conds, "has("+x+"."+f+")")
	}
	return conds
}

// readOnlyMounts is whether every mount of volume v is read-only.
func readOnlyMounts(v string) string {
	return "variables.mountsOf.all(ms, ms.all(m, m.name != " + v + ".name || (has(m.readOnly) && m.readOnly)))"
}

func ptr[T any](v T) *T { return &v }
