package kube_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	admv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/kube"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// The policy of most cases: every kind of entry, network sharing off.
const basePolicy = `apiVersion: isoagent/v1
kind: Policy
isolation: [process, hyperv]
imageIsolation:
  - {images: ['docker.io/*'], isolation: [hyperv]}
mounts:
  - {path: 'D:\sites', readOnly: true}
  - {path: 'D:\data'}
  - {path: 'C:\'}
  - {path: 'C:\ProgramData\docker'}
  - {path: '\\fs01\share'}
  - {path: '\\fs01\C$'}
pipes: ['\\.\pipe\metrics-*', '\\.\pipe\*', '\\.\pipe\docker_engine']
ports: ['8000-8999/tcp', '53/udp']
devices: [5B45201D-F2F2-4F3B-85BB-30FF1F953599]
credentialSpecs: [webapp01.json]
secrets:
  - {secrets: ['db-*'], specs: ['web-*']}
`

func parsePolicy(t *testing.T, text string) *policy.Policy {
	t.Helper()
	if text == "" {
		return nil
	}
	p, err := policy.Parse("policy.yaml", []byte(text))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return p
}

// specYAML is a spec document named name with the given lines under spec:
// (indented by two spaces each), and a process-isolated ltsc2022 image
// unless the lines give an image.
func specYAML(name string, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: %s}\nspec:\n", name)
	image := true
	for _, l := range lines {
		if strings.HasPrefix(l, "image:") {
			image = false
		}
	}
	if image {
		b.WriteString("  image: mcr.microsoft.com/windows/nanoserver:ltsc2022\n  isolation: process\n")
	}
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

func parseSpecs(t testing.TB, docs ...string) []*spec.Container {
	t.Helper()
	cs, err := spec.Parse("specs.yaml", []byte(strings.Join(docs, "---\n")))
	if err != nil {
		t.Fatalf("specs: %v", err)
	}
	return cs
}

// testHost is a Windows Server 2022 host that can run everything the
// cases ask for but what the policy forbids.
var testHost = driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: 20348}, SKU: driver.SKUServer, Name: "WEB-01",
	HyperV: driver.Available, UNCMounts: true}

// everySecret is a secrets folder that holds every secret a case names.
type everySecret struct{}

func (everySecret) Secret(name string) (map[string][]byte, string, error) {
	return map[string][]byte{"key": []byte("value of " + name)}, "digest-" + name, nil
}

// agentRefuses returns, per spec, what the agent's Checker refuses of it
// as admitted on testHost. A spec admission rejects for another reason
// fails the test: the case would not be about the policy.
func agentRefuses(t *testing.T, p *policy.Policy, specs []*spec.Container) map[string][]policy.Violation {
	t.Helper()
	pc, err := policy.NewChecker(p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]policy.Violation{}
	for _, d := range reconcile.Admit(context.Background(), testHost, nil, specs, reconcile.AdmitOptions{Owner: "test", Secrets: everySecret{}}) {
		if !d.Admitted() {
			t.Fatalf("%s is rejected on the test host, not by the policy: %+v", d.Name(), d.Rejection)
		}
		if vs := pc.Check(d.Spec, d.Config, policy.Leads{}); len(vs) > 0 {
			out[d.Name()] = vs
		}
	}
	return out
}

// exportVAP exports specs with p and compiles the admission policy.
func exportVAP(t testing.TB, specs []*spec.Container, p *policy.Policy) ([]kube.Object, *vap) {
	t.Helper()
	objs := kube.Export(specs, p, kube.Options{Namespace: "apps"})
	for _, o := range objs {
		if x, ok := o.Object.(*admv1.ValidatingAdmissionPolicy); ok {
			return objs, compileVAP(t, x)
		}
	}
	t.Fatal("no ValidatingAdmissionPolicy exported")
	return nil, nil
}

func workloads(objs []kube.Object) []kube.Object {
	var out []kube.Object
	for _, o := range objs {
		if len(o.Specs) > 0 {
			out = append(out, o)
		}
	}
	return out
}

// TestAdmissionAgreesWithAgent exports specs the agent's policy allows
// and refuses, and evaluates the exported admission policy on each
// exported workload: the cluster must refuse exactly what the agent
// refuses.
func TestAdmissionAgreesWithAgent(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		specs   []string
		refused bool
	}{
		{"nothing that pierces isolation", basePolicy, []string{specYAML("a")}, false},
		{"no policy file, nothing pierces", "", []string{specYAML("a")}, false},
		{"no policy file, a mount", "", []string{specYAML("a", `mounts: [{hostPath: 'D:\data', containerPath: 'C:\d'}]`)}, true},
		{"mount under a prefix", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'D:\data\orders', containerPath: 'C:\d'}]`)}, false},
		{"mount the prefix itself", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'd:\DATA', containerPath: 'C:\d'}]`)}, false},
		{"prefix on whole components", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'D:\database', containerPath: 'C:\d'}]`)}, true},
		{"read-only entry, read-only mount", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'D:\sites\web', containerPath: 'C:\w', readOnly: true}]`)}, false},
		{"read-only entry, writable mount", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'D:\sites\web', containerPath: 'C:\w'}]`)}, true},
		{"drive root named exactly", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'C:\', containerPath: 'C:\h', readOnly: true}]`)}, false},
		{"Windows folder never by prefix", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'C:\Windows\System32', containerPath: 'C:\s'}]`)}, true},
		{"user profile never by prefix", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'C:\Users\bob', containerPath: 'C:\s'}]`)}, true},
		{"inside a user profile by prefix", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'C:\Users\bob\work', containerPath: 'C:\s'}]`)}, false},
		{"engine folder named exactly", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'C:\ProgramData\docker', containerPath: 'C:\s'}]`)}, false},
		{"inside an engine folder", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'C:\ProgramData\docker\volumes', containerPath: 'C:\s'}]`)}, true},
		{"folder holding an engine folder", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'C:\ProgramData', containerPath: 'C:\s'}]`)}, true},
		{"beside the engine folders", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'C:\ProgramData\app', containerPath: 'C:\s'}]`)}, false},
		{"8.3 short name", basePolicy, []string{specYAML("a", `mounts: [{hostPath: 'C:\PROGRA~1\app', containerPath: 'C:\s'}]`)}, true},
		{"share by prefix", basePolicy, []string{specYAML("a", `mounts: [{hostPath: '\\fs01\share\x', containerPath: 'C:\s'}]`)}, false},
		{"administrative share named exactly", basePolicy, []string{specYAML("a", `mounts: [{hostPath: '\\fs01\C$', containerPath: 'C:\s'}]`)}, false},
		{"inside an administrative share", basePolicy, []string{specYAML("a", `mounts: [{hostPath: '\\fs01\C$\x', containerPath: 'C:\s'}]`)}, true},
		{"pipe by glob", basePolicy, []string{specYAML("a", `pipes: [{hostPipe: '\\.\pipe\metrics-a', containerPipe: '\\.\pipe\m'}]`)}, false},
		{"engine pipe named exactly", basePolicy, []string{specYAML("a", `pipes: [{hostPipe: '\\.\pipe\Docker_Engine', containerPipe: '\\.\pipe\d'}]`)}, false},
		{"engine pipe never by glob", basePolicy, []string{specYAML("a", `pipes: [{hostPipe: '\\.\pipe\containerd-containerd', containerPipe: '\\.\pipe\d'}]`)}, true},
		{"system pipe never by glob", basePolicy, []string{specYAML("a", `pipes: [{hostPipe: '\\.\pipe\lsass', containerPipe: '\\.\pipe\l'}]`)}, true},
		{"no pipe rule", "apiVersion: isoagent/v1\nkind: Policy\n", []string{specYAML("a", `pipes: [{hostPipe: '\\.\pipe\metrics-a', containerPipe: '\\.\pipe\m'}]`)}, true},
		{"port in range", basePolicy, []string{specYAML("a", `ports: [{hostPort: 8080, containerPort: 80}]`)}, false},
		{"port out of range", basePolicy, []string{specYAML("a", `ports: [{hostPort: 9000, containerPort: 80}]`)}, true},
		{"port of the wrong protocol", basePolicy, []string{specYAML("a", `ports: [{hostPort: 8080, containerPort: 80, protocol: udp}]`)}, true},
		{"udp port", basePolicy, []string{specYAML("a", `ports: [{hostPort: 53, containerPort: 53, protocol: udp}]`)}, false},
		{"device allowed", basePolicy, []string{specYAML("a", `devices: [{classGUID: 5b45201d-f2f2-4f3b-85bb-30ff1f953599}]`)}, false},
		{"device not allowed", basePolicy, []string{specYAML("a", `devices: [{classGUID: 00000000-0000-0000-0000-000000000001}]`)}, true},
		{"credential spec allowed", basePolicy, []string{specYAML("a", `credentialSpec: WebApp01.json`)}, false},
		{"credential spec not allowed", basePolicy, []string{specYAML("a", `credentialSpec: other.json`)}, true},
		{"secret for its spec", basePolicy, []string{specYAML("web-1", `envFrom: [{secret: db-main}]`, `secretMounts: [{secret: db-cert, containerPath: 'C:\c'}]`)}, false},
		{"secret for another spec", basePolicy, []string{specYAML("api", `envFrom: [{secret: db-main}]`)}, true},
		{"secret mount not allowed", basePolicy, []string{specYAML("web-1", `secretMounts: [{secret: tls, containerPath: 'C:\c'}]`)}, true},
		{"Docker Hub image under Hyper-V", basePolicy, []string{specYAML("a", "image: library/nanoserver:ltsc2022", "isolation: hyperv")}, false},
		{"Docker Hub image under process", basePolicy, []string{specYAML("a", "image: nanoserver:ltsc2022", "isolation: process")}, true},
		{"Docker Hub spelt index.docker.io", basePolicy, []string{specYAML("a", "image: index.docker.io/corp/app:ltsc2022", "isolation: process")}, true},
		{"process not allowed", "apiVersion: isoagent/v1\nkind: Policy\nisolation: [hyperv]\n", []string{specYAML("a")}, true},
		{"hyperv allowed", "apiVersion: isoagent/v1\nkind: Policy\nisolation: [hyperv]\n", []string{specYAML("a", "image: mcr.microsoft.com/windows/nanoserver:ltsc2022", "isolation: hyperv")}, false},
		{"network sharing not allowed", basePolicy, []string{specYAML("a"), specYAML("b", "network: {mode: 'container:a'}")}, true},
		{"network sharing allowed", basePolicy + "networkSharing: true\n", []string{specYAML("a"), specYAML("b", "network: {mode: 'container:a'}")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parsePolicy(t, tt.policy)
			specs := parseSpecs(t, tt.specs...)
			agent := agentRefuses(t, p, specs)
			if got := len(agent) > 0; got != tt.refused {
				t.Fatalf("the agent refuses: %v, want %v (%v)", got, tt.refused, agent)
			}
			objs, v := exportVAP(t, specs, p)
			ws := workloads(objs)
			if len(ws) != 1 {
				t.Fatalf("%d workloads, want 1", len(ws))
			}
			msgs := v.admit(t, ws[0].Object)
			if got := len(msgs) > 0; got != tt.refused {
				t.Errorf("the cluster refuses: %v, want %v, as the agent (%v); cluster says %q", got, tt.refused, agent, msgs)
			}
		})
	}
}

// workloadOf exports spec and returns its workload, for a case to change
// what no spec can write.
func workloadOf(t *testing.T, p *policy.Policy, lines ...string) (*appsv1.Deployment, *vap) {
	t.Helper()
	objs, v := exportVAP(t, parseSpecs(t, specYAML("web-1", lines...)), p)
	return objs[0].Object.(*appsv1.Deployment), v
}

// TestAdmissionRefusesWhatNoSpecCanSay: a cluster object can say more than
// a spec; what pierces isolation beyond the spec format is refused, and
// spellings winpath would normalise are refused unless in normal form.
func TestAdmissionRefusesWhatNoSpecCanSay(t *testing.T) {
	p := parsePolicy(t, basePolicy)
	mount := `mounts: [{hostPath: 'D:\data\x', containerPath: 'C:\d'}]`
	tests := []struct {
		name    string
		change  func(d *appsv1.Deployment)
		refused string // part of the message; "" for admitted
	}{
		{"as exported", func(d *appsv1.Deployment) {}, ""},
		{"host network", func(d *appsv1.Deployment) { d.Spec.Template.Spec.HostNetwork = true }, "node's network"},
		{"HostProcess pod", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{HostProcess: ptr(true)}}
		}, "HostProcess"},
		{"HostProcess container", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{HostProcess: ptr(true)}}
		}, "HostProcess"},
		{"another runtime class", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RuntimeClassName = ptr("runhcs-wcow-process") }, "runtime class"},
		{"inline credential spec", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{GMSACredentialSpec: ptr("{}")}}
		}, "gMSA"},
		{"another extended resource", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"microsoft.com/directx": resource.MustParse("1")}
		}, "may ask for"},
		{"a resource claim", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: "gpu"}}
		}, "may ask for"},
		{"slashes and case", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `d:/DATA/x` }, ""},
		{"long-path prefix", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `\\?\D:\data\x` }, "host folder"},
		{"dot-dot", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `D:\data\..\Windows` }, "host folder"},
		{"trailing dot", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `D:\data\x.` }, "host folder"},
		{"trailing separator", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `D:\data\x\` }, "host folder"},
		{"device name", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `D:\data\nul.txt` }, "host folder"},
		{"alternate stream", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `D:\data\x:s` }, "host folder"},
		{"not ASCII", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `D:\data\ß` }, "host folder"},
		{"device path", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `\\.\PhysicalDrive0` }, "host folder"},
		{"pipe with slashes", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `//./pipe/metrics-x` }, ""},
		{"system pipe with a trailing dot", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `\\.\pipe\lsass.` }, "host pipe"},
		{"engine pipe with a trailing space", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `\\.\pipe\docker_engine ` }, "host pipe"},
		{"engine pipe by glob", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Volumes[0].HostPath.Path = `\\.\pipe\KUBE-x` }, "host pipe"},
		{"read-only folder mounted writable by a second mount", func(d *appsv1.Deployment) {
			ps := &d.Spec.Template.Spec
			ps.Volumes[0].HostPath.Path = `D:\sites\web`
			ps.Containers[0].VolumeMounts[0].ReadOnly = true
			ps.Containers[0].VolumeMounts = append(ps.Containers[0].VolumeMounts, corev1.VolumeMount{Name: ps.Volumes[0].Name, MountPath: `C:\w`})
		}, "read-only only"},
		{"an NFS volume", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Volumes = append(d.Spec.Template.Spec.Volumes, corev1.Volume{Name: "n", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "fs01", Path: "/x"}}})
		}, "volumes may be"},
		{"an emptyDir volume", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Volumes = append(d.Spec.Template.Spec.Volumes, corev1.Volume{Name: "e", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		}, ""},
		{"a secret by env", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "tls"}, Key: "k"}}}}
		}, "secret"},
		{"a secret projected", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Volumes = append(d.Spec.Template.Spec.Volumes, corev1.Volume{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "tls"}}}}}}})
		}, "secret"},
		{"an allowed secret, under another spec label", func(d *appsv1.Deployment) {
			d.Spec.Template.Labels[kube.SpecLabel] = "api"
			d.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db-main"}}}}
		}, "secret"},
		{"an init container shares the network", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "mcr.microsoft.com/windows/nanoserver:ltsc2022"}}
		}, "network sharing"},
		{"an init container's host port", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "x", Image: "mcr.microsoft.com/windows/nanoserver:ltsc2022",
				Ports: []corev1.ContainerPort{{ContainerPort: 1, HostPort: 22, Protocol: corev1.ProtocolTCP}}})
		}, "host port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, v := workloadOf(t, p, mount)
			tt.change(d)
			msgs := v.admit(t, d)
			switch {
			case tt.refused == "" && len(msgs) > 0:
				t.Errorf("refused: %q", msgs)
			case tt.refused != "" && !strings.Contains(strings.Join(msgs, "\n"), tt.refused):
				t.Errorf("refusals %q, want one saying %q", msgs, tt.refused)
			}
		})
	}
}

// TestAdmissionFindsThePodInEveryKind: the policy reads the pod of every
// kind it matches, and bare pods.
func TestAdmissionFindsThePodInEveryKind(t *testing.T) {
	p := parsePolicy(t, basePolicy)
	d, v := workloadOf(t, p, `mounts: [{hostPath: 'D:\database', containerPath: 'C:\d'}]`)
	tmpl := d.Spec.Template
	objs := []runtime.Object{
		d,
		&appsv1.DaemonSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"}, ObjectMeta: d.ObjectMeta, Spec: appsv1.DaemonSetSpec{Template: tmpl}},
		&appsv1.StatefulSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"}, ObjectMeta: d.ObjectMeta, Spec: appsv1.StatefulSetSpec{Template: tmpl}},
		&appsv1.ReplicaSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"}, ObjectMeta: d.ObjectMeta, Spec: appsv1.ReplicaSetSpec{Template: tmpl}},
		&batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: d.ObjectMeta, Spec: batchv1.JobSpec{Template: tmpl}},
		&batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}, ObjectMeta: d.ObjectMeta,
			Spec: batchv1.CronJobSpec{Schedule: "@daily", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}},
		&corev1.ReplicationController{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ReplicationController"}, ObjectMeta: d.ObjectMeta, Spec: corev1.ReplicationControllerSpec{Template: &tmpl}},
		&corev1.PodTemplate{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodTemplate"}, ObjectMeta: d.ObjectMeta, Template: tmpl},
		&corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{GenerateName: "web-1-", Labels: tmpl.Labels}, Spec: tmpl.Spec},
	}
	for _, obj := range objs {
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		t.Run(kind, func(t *testing.T) {
			if msgs := v.admit(t, obj); !strings.Contains(strings.Join(msgs, "\n"), `D:\database`) {
				t.Errorf("refusals %q, want the host folder", msgs)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestNeverByGlobAgrees keeps the admission policy's never-by-glob lists
// in step with the agent's Checker: every name and folder on them, and
// some beside them, gets the same answer from both under a policy whose
// globs and prefixes would allow everything.
func TestNeverByGlobAgrees(t *testing.T) {
	p := parsePolicy(t, `apiVersion: isoagent/v1
kind: Policy
mounts: [{path: 'C:\'}, {path: 'D:\'}, {path: '\\fs01\C$'}, {path: '\\fs01\share'}]
pipes: ['\\.\pipe\*']
`)
	pipes := []string{"metrics", "docker", "dockerx", "docker_engine", "dockerDesktopLinuxEngine", "containerd-containerd", "containerd-debug",
		"buildkitd", "moby-x", "podman-machine", "nerdctl", "kubelet", "csi-proxy-filesystem-v1", "hcsdiag", "vmcompute", "pshost.1234",
		"pshost", "lsass", "LSARPC", "samr", "netlogon", "svcctl", "ntsvcs", "winreg", "atsvc", "eventlog", "spoolss", "srvsvc",
		"wkssvc", "epmapper", "initshutdown", "protected_storage", "scerpc", "openssh-ssh-agent", "lsass2", "my-kube", "winreg-x"}
	folders := []string{`C:\`, `D:\`, `C:\Windows`, `C:\Windows\Temp`, `C:\Windowsx`, `C:\Users`, `C:\Users\bob`, `C:\Users\bob\work`,
		`C:\System Volume Information`, `C:\Recovery\x`, `C:\Boot`, `C:\$Recycle.Bin`, `C:\$x\y`, `C:\ProgramData`, `C:\ProgramData\Docker`,
		`C:\ProgramData\docker\volumes`, `C:\ProgramData\containerd`, `C:\ProgramData\Microsoft\Windows`, `C:\ProgramData\app`,
		`C:\Program Files`, `C:\Program Files\Docker`, `C:\Program Files\containerd\bin`, `C:\Program Files\App`, `C:\PROGRA~1`,
		`C:\data\LONGNA~2\x`, `C:\data~x`, `\\fs01\C$`, `\\fs01\C$\x`, `\\fs01\share`, `\\fs01\share\x`, `D:\data`}
	var lines []string
	for i, n := range pipes {
		lines = append(lines, fmt.Sprintf(`{hostPipe: '\\.\pipe\%s', containerPipe: '\\.\pipe\p%d'}`, n, i))
	}
	pipeSpecs := parseSpecs(t, specYAML("pipes", "pipes: ["+strings.Join(lines, ", ")+"]"))
	lines = nil
	for i, f := range folders {
		lines = append(lines, fmt.Sprintf(`{hostPath: '%s', containerPath: 'C:\m%d'}`, f, i))
	}
	folderSpecs := parseSpecs(t, specYAML("folders", "mounts: ["+strings.Join(lines, ", ")+"]"))
	agent := map[string]bool{} // spec field -> refused
	for _, vs := range agentRefuses(t, p, append(pipeSpecs, folderSpecs...)) {
		for _, v := range vs {
			agent[v.Field] = true
		}
	}
	if n := len(agent); n < 10 || n > len(pipes)+len(folders)-5 {
		t.Fatalf("the agent refuses %d of %d cases; the lists must hold both kinds", n, len(pipes)+len(folders))
	}
	// Each case alone: the refusals of one object cannot tell which of its
	// volumes the cluster refuses otherwise.
	check := func(field, hostPath string, c *spec.Container, mount func(ps *corev1.PodSpec)) {
		t.Helper()
		objs, v := exportVAP(t, []*spec.Container{c}, p)
		d := objs[0].Object.(*appsv1.Deployment)
		ps := &d.Spec.Template.Spec
		mount(ps)
		refused := len(v.admit(t, d)) > 0
		if refused != agent[field] {
			t.Errorf("%s: the cluster refuses: %v, the agent: %v", hostPath, refused, agent[field])
		}
	}
	for i, n := range pipes {
		check(fmt.Sprintf("spec.pipes[%d].hostPipe", i), n, pipeSpecs[0], func(ps *corev1.PodSpec) {
			ps.Volumes = ps.Volumes[i : i+1]
			ps.Containers[0].VolumeMounts = ps.Containers[0].VolumeMounts[i : i+1]
		})
	}
	for i, f := range folders {
		check(fmt.Sprintf("spec.mounts[%d].hostPath", i), f, folderSpecs[0], func(ps *corev1.PodSpec) {
			ps.Volumes = ps.Volumes[i : i+1]
			ps.Containers[0].VolumeMounts = ps.Containers[0].VolumeMounts[i : i+1]
		})
	}
}

// TestExamplesAdmitted: examples/policy.yaml lets every example run on a
// host, so the cluster must admit every exported example, and refuse it
// without the policy, as the agent would.
func TestExamplesAdmitted(t *testing.T) {
	specs, p := loadExamples(t)
	for _, tc := range []struct {
		name    string
		p       *policy.Policy
		refused bool
	}{{"examples/policy.yaml", p, false}, {"no policy", nil, true}} {
		t.Run(tc.name, func(t *testing.T) {
			objs, v := exportVAP(t, specs, tc.p)
			for _, o := range workloads(objs) {
				msgs := v.admit(t, o.Object)
				if (len(msgs) > 0) != tc.refused {
					t.Errorf("%s %s: refused %v, want %v: %q", o.Kind(), o.Name(), len(msgs) > 0, tc.refused, msgs)
				}
			}
		})
	}
}

// workloadCopy returns a deep copy of a Deployment, for a case to change.
func workloadCopy(t testing.TB, obj runtime.Object) *appsv1.Deployment {
	t.Helper()
	return obj.(*appsv1.Deployment).DeepCopy()
}
