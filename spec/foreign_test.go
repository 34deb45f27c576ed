package spec

import (
	"strings"
	"testing"
)

// Keys Compose and Kubernetes users bring: a "did you mean" for what
// isoagent has under another name, the reason for what it does not do.
func TestForeignKeys(t *testing.T) {
	doc := func(lines ...string) string {
		return "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: mcr.microsoft.com/windows/nanoserver:ltsc2022\n  " + strings.Join(lines, "\n  ") + "\n"
	}
	tests := []struct {
		name, data, field, want string
	}{
		{"compose cpus", doc("cpus: 2"), "spec.cpus", "did you mean resources.cpuCount?"},
		{"compose memory", doc("memory: 2048"), "spec.memory", "did you mean resources.memoryMB?"},
		{"compose mem_limit", doc("mem_limit: 2g"), "spec.mem_limit", "did you mean resources.memoryMB?"},
		{"compose cpu_percent", doc("cpu_percent: 50"), "spec.cpu_percent", "did you mean resources.cpuMaximumPercent?"},
		{"memory inside resources", doc("resources: {memory: 2048}"), "spec.resources.memory", "did you mean memoryMB?"},
		{"kubernetes cpu inside resources", doc("resources: {cpu: 2}"), "spec.resources.cpu", "did you mean cpuCount?"},
		{"kubernetes limits", doc("resources: {limits: {memory: 2Gi}}"), "spec.resources.limits", "resources are limits already"},
		{"kubernetes requests", doc("resources: {requests: {memory: 2Gi}}"), "spec.resources.requests", "isoagent reserves nothing"},
		{"kubernetes nodeName", doc("nodeName: win1"), "spec.nodeName", "did you mean hosts?"},
		{"compose healthcheck", doc("healthcheck: {test: [CMD, ping]}"), "spec.healthcheck.test", "written here as exec"},
		{"kubernetes probe", doc("livenessProbe: {}"), "spec.livenessProbe", "write healthcheck"},
		{"compose depends_on", doc("depends_on: [db]"), "spec.depends_on", "isoagent has no start order"},
		{"replicas", doc("replicas: 3"), "spec.replicas", "write a spec per container"},
		{"compose build", doc("build: ."), "spec.build", "isoagent runs images, it does not build them"},
		{"compose cpu_shares", doc("cpu_shares: 512"), "spec.cpu_shares", "CPU shares (relative weights) are not supported"},
		{"compose container_name", doc("container_name: web"), "spec.container_name", "metadata.name"},
		{"labels in spec", doc("labels: {a: b}"), "spec.labels", `"labels" is a field of metadata; move it to metadata.labels`},
		{"compose tty", doc("tty: true"), "spec.tty", "detached, without standard input or a terminal"},
		{"kubernetes containers", "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: web\nspec:\n  containers: []\n", "spec.containers", "a spec is one container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.data))
			errs := Errors(err)
			var got *Error
			for _, e := range errs {
				if e.Field == tt.field {
					got = e
				}
			}
			if got == nil {
				t.Fatalf("no error at %s; got %v", tt.field, err)
			}
			if !strings.Contains(got.Message, tt.want) {
				t.Errorf("%s: %q, want %q", tt.field, got.Message, tt.want)
			}
			if strings.Contains(got.Message, "known fields here") {
				t.Errorf("%s: %q lists the known fields though it has a better answer", tt.field, got.Message)
			}
		})
	}
}

// The known fields of a mapping are listed once per file: later unknown
// keys in the same kind of mapping point at that line, in any document.
func TestKnownFieldsListedOncePerFile(t *testing.T) {
	data := `apiVersion: isoagent/v1
kind: Container
metadata:
  name: web
spec:
  image: mcr.microsoft.com/windows/nanoserver:ltsc2022
  frobnicate: 1
  quux: 2
  mounts:
    - {hostPath: 'D:\a', containerPath: 'C:\a', zap: 1}
    - {hostPath: 'D:\b', containerPath: 'C:\b', zop: 1}
---
apiVersion: isoagent/v1
kind: Container
metadata:
  name: api
spec:
  image: mcr.microsoft.com/windows/nanoserver:ltsc2022
  wibble: 3
`
	_, err := Parse("f.yaml", []byte(data))
	want := map[string]string{
		"spec.frobnicate":    `unknown field "frobnicate"; known fields here are command, `,
		"spec.quux":          `unknown field "quux" (the fields known here are listed on line 7)`,
		"spec.mounts[0].zap": `unknown field "zap"; known fields here are containerPath, hostPath, readOnly`,
		"spec.mounts[1].zop": `unknown field "zop" (the fields known here are listed on line 10)`,
		"spec.wibble":        `unknown field "wibble" (the fields known here are listed on line 7)`,
	}
	errs := Errors(err)
	if len(errs) != len(want) {
		t.Errorf("%d errors, want %d: %v", len(errs), len(want), err)
	}
	for _, e := range errs {
		w, ok := want[e.Field]
		if !ok {
			t.Errorf("unexpected error %v", e)
			continue
		}
		if !strings.HasPrefix(e.Message, w) {
			t.Errorf("%s: %q, want it to start with %q", e.Field, e.Message, w)
		}
	}
}
