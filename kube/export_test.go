package kube_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	admv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/kube"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// typedObject returns an empty typed object of the kind a document
// declares, for strict decoding.
func typedObject(t *testing.T, doc []byte) runtime.Object {
	t.Helper()
	var head struct{ APIVersion, Kind string }
	if err := yaml.Unmarshal(doc, &head); err != nil {
		t.Fatalf("document head: %v\n%s", err, doc)
	}
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}
	case "apps/v1 DaemonSet":
		return &appsv1.DaemonSet{}
	case "batch/v1 Job":
		return &batchv1.Job{}
	case "batch/v1 CronJob":
		return &batchv1.CronJob{}
	case "v1 Pod":
		return &corev1.Pod{}
	case "node.k8s.io/v1 RuntimeClass":
		return &nodev1.RuntimeClass{}
	case "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy":
		return &admv1.ValidatingAdmissionPolicy{}
	case "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding":
		return &admv1.ValidatingAdmissionPolicyBinding{}
	}
	t.Fatalf("document of unexpected kind %s %s", head.APIVersion, head.Kind)
	return nil
}

// decodeStrict decodes a multi-document stream strictly into typed objects:
// an unknown or misspelt field fails the test.
func decodeStrict(t *testing.T, stream []byte) []runtime.Object {
	t.Helper()
	var out []runtime.Object
	for _, doc := range bytes.Split(stream, []byte("\n---\n")) {
		obj := typedObject(t, doc)
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("strict decode: %v\n%s", err, doc)
		}
		out = append(out, obj)
	}
	return out
}

// loadExamples loads examples/specs and examples/policy.yaml from the
// repository root, which it makes the working folder, so that sources
// read as a user at the root sees them.
func loadExamples(t *testing.T) ([]*spec.Container, *policy.Policy) {
	t.Helper()
	t.Chdir("..")
	snap, err := spec.Load(filepath.Join("examples", "specs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range snap.Files {
		if f.Err != nil {
			t.Fatalf("%s: %v", f.Path, f.Err)
		}
	}
	p, err := policy.Load(filepath.Join("examples", "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Golden files name the files as a checkout has them, on any OS.
	for _, c := range snap.Specs {
		c.Source.File = filepath.ToSlash(c.Source.File)
	}
	p.File = filepath.ToSlash(p.File)
	return snap.Specs, p
}

// TestExamplesGolden pins the export of examples/specs with
// examples/policy.yaml, and that every document decodes strictly back into
// its typed object, unchanged.
func TestExamplesGolden(t *testing.T) {
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	specs, p := loadExamples(t)
	for _, tc := range []struct {
		name, golden string
		opts         kube.Options
	}{
		{"no namespace", "examples.yaml", kube.Options{}},
		{"namespace", "examples-namespace.yaml", kube.Options{Namespace: "apps"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := kube.Export(specs, p, tc.opts)
			var buf bytes.Buffer
			if err := kube.Write(&buf, objs); err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, filepath.Join(testdata, tc.golden), buf.Bytes(), *update)
			back := decodeStrict(t, buf.Bytes())
			if len(back) != len(objs) {
				t.Fatalf("%d documents decoded, %d objects exported", len(back), len(objs))
			}
			for i, o := range objs {
				if !equality.Semantic.DeepEqual(back[i], o.Object) {
					t.Errorf("%s %s does not read back as it was exported:\nexported %#v\nread     %#v", o.Kind(), o.Name(), o.Object, back[i])
				}
			}
		})
	}
}

// TestExamplesMapping pins what the examples must become, apart from the
// golden file's details.
func TestExamplesMapping(t *testing.T) {
	specs, p := loadExamples(t)
	objs := kube.Export(specs, p, kube.Options{Namespace: "apps"})
	byName := map[string]kube.Object{}
	var kinds []string
	for _, o := range objs {
		byName[o.Kind()+"/"+o.Name()] = o
		kinds = append(kinds, o.Kind()+"/"+o.Name())
	}
	want := []string{
		"Deployment/iis-web", "Deployment/legacy-billing", "CronJob/nightly-report", "Deployment/orders-api",
		"Deployment/portal", "DaemonSet/render-worker", "RuntimeClass/isoagent-hyperv",
		"ValidatingAdmissionPolicy/isoagent-boundary-apps", "ValidatingAdmissionPolicyBinding/isoagent-boundary-apps",
	}
	if !slices.Equal(kinds, want) {
		t.Fatalf("objects = %v\nwant      %v", kinds, want)
	}
	pod := func(key string) *corev1.PodSpec {
		t.Helper()
		o, ok := byName[key]
		if !ok {
			t.Fatalf("no %s", key)
		}
		switch x := o.Object.(type) {
		case *appsv1.Deployment:
			if *x.Spec.Replicas != 1 || x.Namespace != "apps" {
				t.Errorf("%s: replicas %d namespace %q", key, *x.Spec.Replicas, x.Namespace)
			}
			return &x.Spec.Template.Spec
		case *appsv1.DaemonSet:
			return &x.Spec.Template.Spec
		case *batchv1.Job:
			return &x.Spec.Template.Spec
		case *batchv1.CronJob:
			if x.Spec.Schedule != "0 2 * * *" || x.Spec.TimeZone == nil || *x.Spec.TimeZone != "Europe/Berlin" {
				t.Errorf("%s: schedule %q time zone %v", key, x.Spec.Schedule, x.Spec.TimeZone)
			}
			return &x.Spec.JobTemplate.Spec.Template.Spec
		}
		t.Fatalf("%s is no workload", key)
		return nil
	}
	tests := []struct {
		key   string
		check func(t *testing.T, ps *corev1.PodSpec)
	}{
		{"Deployment/iis-web", func(t *testing.T, ps *corev1.PodSpec) {
			wantSel := map[string]string{"kubernetes.io/os": "windows", kube.WindowsBuildLabel: "10.0.20348"}
			if !reflect.DeepEqual(ps.NodeSelector, wantSel) || ps.RuntimeClassName != nil {
				t.Errorf("process isolation: node selector %v runtime class %v", ps.NodeSelector, ps.RuntimeClassName)
			}
			c := ps.Containers[0]
			if c.Ports[0].HostPort != 8080 || c.Ports[0].ContainerPort != 80 || c.Ports[0].Protocol != corev1.ProtocolTCP {
				t.Errorf("ports %+v", c.Ports)
			}
			if ps.Volumes[0].HostPath.Path != `D:\sites\web` || !c.VolumeMounts[0].ReadOnly || c.VolumeMounts[0].MountPath != `C:\inetpub\wwwroot` {
				t.Errorf("mount %+v %+v", ps.Volumes[0], c.VolumeMounts[0])
			}
			if c.Resources.Limits.Cpu().String() != "2" || c.Resources.Limits.Memory().String() != "2Gi" {
				t.Errorf("limits %v", c.Resources.Limits)
			}
			if *ps.TerminationGracePeriodSeconds != 30 || ps.RestartPolicy != corev1.RestartPolicyAlways {
				t.Errorf("grace %d restart %s", *ps.TerminationGracePeriodSeconds, ps.RestartPolicy)
			}
		}},
		{"Deployment/legacy-billing", func(t *testing.T, ps *corev1.PodSpec) {
			if ps.RuntimeClassName == nil || *ps.RuntimeClassName != kube.HyperVRuntimeClass {
				t.Errorf("hyperv: runtime class %v", ps.RuntimeClassName)
			}
			if _, ok := ps.NodeSelector[kube.WindowsBuildLabel]; ok {
				t.Errorf("Hyper-V isolation must not pin the build: %v", ps.NodeSelector)
			}
		}},
		{"CronJob/nightly-report", func(t *testing.T, ps *corev1.PodSpec) {
			if ps.RestartPolicy != corev1.RestartPolicyOnFailure {
				t.Errorf("restart %s", ps.RestartPolicy)
			}
		}},
		{"Deployment/orders-api", func(t *testing.T, ps *corev1.PodSpec) {
			c := ps.Containers[0]
			if ps.Volumes[1].HostPath.Path != `\\.\pipe\metrics-orders-api` || c.VolumeMounts[1].MountPath != `\\.\pipe\metrics-orders-api` {
				t.Errorf("pipe %+v %+v", ps.Volumes[1], c.VolumeMounts[1])
			}
			if *c.SecurityContext.WindowsOptions.RunAsUserName != "ContainerUser" {
				t.Errorf("user %+v", c.SecurityContext)
			}
		}},
		{"Deployment/portal", func(t *testing.T, ps *corev1.PodSpec) {
			if len(ps.Containers) != 2 || ps.Containers[1].Name != "portal-logs" {
				t.Errorf("network sharing must make one pod of two containers: %d containers", len(ps.Containers))
			}
		}},
		{"DaemonSet/render-worker", func(t *testing.T, ps *corev1.PodSpec) {
			if ps.NodeSelector["gpu"] != "directx" {
				t.Errorf("selector %v", ps.NodeSelector)
			}
			terms := ps.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
			if len(terms) != 1 || terms[0].MatchExpressions[0].Key != kube.HostsLabelPrefix+"render-worker" {
				t.Errorf("host globs: %+v", terms)
			}
			if _, ok := ps.Containers[0].Resources.Limits[kube.DeviceResourcePrefix+"5b45201d-f2f2-4f3b-85bb-30ff1f953599"]; !ok {
				t.Errorf("device: %v", ps.Containers[0].Resources.Limits)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) { tt.check(t, pod(tt.key)) })
	}
	rc := byName["RuntimeClass/isoagent-hyperv"].Object.(*nodev1.RuntimeClass)
	if rc.Handler != "runhcs-wcow-hypervisor" || rc.Scheduling.NodeSelector["kubernetes.io/os"] != "windows" {
		t.Errorf("runtime class %+v", rc)
	}
}

// TestNotesNeverSilent: every spec feature without an equivalent is a
// note, in the object's comment and on the notes a command prints.
func TestNotesNeverSilent(t *testing.T) {
	specs, p := loadExamples(t)
	objs := kube.Export(specs, p, kube.Options{})
	want := map[string]string{ // spec/field -> part of the message
		"iis-web/spec.onVersionMismatch":                  "no equivalent",
		"legacy-billing/spec.resources.cpuMaximumPercent": "no equivalent",
		"nightly-report/spec.network.mode":                "no equivalent",
		"portal-logs/spec.network.mode":                   "second container in portal's pod",
		"render-worker/spec.hosts":                        "label the nodes",
		"render-worker/spec.devices[0]":                   "device plugin",
	}
	got := map[string]string{}
	for _, o := range objs {
		doc, err := kube.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range o.Notes {
			got[n.Spec+"/"+n.Field] = n.Message
			if !strings.Contains(string(doc), "# NOTE "+n.Spec+": "+n.Field+": ") {
				t.Errorf("note %s is not a comment of %s %s", n, o.Kind(), o.Name())
			}
		}
	}
	for k, part := range want {
		if !strings.Contains(got[k], part) {
			t.Errorf("note %s = %q, want one saying %q", k, got[k], part)
		}
	}
}

// TestSecretsByNameOnly: secrets are references, never values.
func TestSecretsByNameOnly(t *testing.T) {
	specs, err := spec.Parse("s.yaml", []byte(`apiVersion: isoagent/v1
kind: Container
metadata: {name: web}
spec:
  image: mcr.microsoft.com/windows/nanoserver:ltsc2022
  envFrom: [{secret: db-login}]
  secretMounts: [{secret: tls, containerPath: 'C:\certs'}]
`))
	if err != nil {
		t.Fatal(err)
	}
	objs := kube.Export(specs, nil, kube.Options{})
	ps := objs[0].Object.(*appsv1.Deployment).Spec.Template.Spec
	c := ps.Containers[0]
	if c.EnvFrom[0].SecretRef.Name != "db-login" {
		t.Errorf("envFrom %+v", c.EnvFrom)
	}
	if ps.Volumes[0].Secret.SecretName != "tls" || !c.VolumeMounts[0].ReadOnly || c.VolumeMounts[0].MountPath != `C:\certs` {
		t.Errorf("secret mount %+v %+v", ps.Volumes[0], c.VolumeMounts[0])
	}
	for _, o := range objs {
		if _, ok := o.Object.(*corev1.Secret); ok {
			t.Errorf("an export must not hold a Secret: %s", o.Name())
		}
	}
}

// TestWriteDir writes one file per object, each a valid document.
func TestWriteDir(t *testing.T) {
	specs, p := loadExamples(t)
	objs := kube.Export(specs, p, kube.Options{})
	dir := filepath.Join(t.TempDir(), "out")
	if err := kube.WriteDir(dir, objs); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(objs) {
		t.Fatalf("%d files for %d objects", len(ents), len(objs))
	}
	for _, o := range objs {
		data, err := os.ReadFile(filepath.Join(dir, kube.FileName(o)))
		if err != nil {
			t.Fatal(err)
		}
		decodeStrict(t, data)
	}
}

// TestJoiningSpecSaysWhatItLoses: a spec that joins another's pod says
// each of its own settings the pod does not take.
func TestJoiningSpecSaysWhatItLoses(t *testing.T) {
	specs, err := spec.Parse("s.yaml", []byte(`apiVersion: isoagent/v1
kind: Container
metadata: {name: app, labels: {team: a}}
spec:
  image: mcr.microsoft.com/windows/nanoserver:ltsc2022
  isolation: process
---
apiVersion: isoagent/v1
kind: Container
metadata: {name: side, labels: {team: b}}
spec:
  image: mcr.microsoft.com/windows/nanoserver:ltsc2019
  isolation: process
  restartPolicy: never
  hostname: other
  hosts: [WEB-01]
  network: {mode: 'container:app', dnsSearch: [corp.example]}
`))
	if err != nil {
		t.Fatal(err)
	}
	objs := kube.Export(specs, nil, kube.Options{})
	var fields []string
	for _, n := range objs[0].Notes {
		if n.Spec == "side" {
			fields = append(fields, n.Field)
		}
	}
	want := []string{"spec.image", "spec.hosts", "spec.network.mode", "spec.restartPolicy", "spec.network.dns", "spec.hostname", "metadata"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("notes of the joining spec on %v, want %v", fields, want)
	}
	if n := len(objs[0].Object.(*appsv1.Deployment).Spec.Template.Spec.Containers); n != 2 {
		t.Errorf("%d containers, want 2", n)
	}
}

// TestStrictDecodingRefusesUnknownFields: the decoding the golden test
// relies on fails on a field the typed API does not have.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: apps/v1\nkind: Deployment\nspec: {replica: 1}\n",
		"apiVersion: apps/v1\nkind: Deployment\nspec: {template: {spec: {containers: [{name: a, hostPath: x}]}}}\n",
		"apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nspec: {validations: [{expresion: 'true'}]}\n",
	} {
		obj := typedObject(t, []byte(doc))
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err == nil {
			t.Errorf("strict decoding accepts %q", doc)
		}
	}
}
