package validate

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
)

// checker compiles a policy file of entries as the validate command does.
func checker(t *testing.T, entries string) *policy.Checker {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	testutil.WriteFile(t, path, "apiVersion: isoagent/v1\nkind: Policy\n"+entries)
	_, pc, err := policy.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

var ltsc2022 = driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: 20348}, SKU: driver.SKUServer, Name: "validate"}

// TestAdmission pins what the admission check reports: each rejection once,
// at the spec's document, with the field at fault; each policy violation
// once per field; nothing for what the host would admit.
func TestAdmission(t *testing.T) {
	tests := []struct {
		name  string
		spec  []string // image, then extra spec lines
		pc    string   // policy entries; "-" for no policy check
		wants []string // one "field: message part" per problem, in order
	}{
		{"admitted", []string{"mcr.microsoft.com/windows/servercore:ltsc2022"}, "-", nil},
		{"version mismatch", []string{"mcr.microsoft.com/windows/servercore:ltsc2019", "isolation: process"}, "-",
			[]string{"spec.image: web is rejected on host build 20348 (version-mismatch): image build 17763 (ltsc2019)"}},
		{"no policy check without a policy", []string{"mcr.microsoft.com/windows/servercore:ltsc2022", "ports: [{hostPort: 8080, containerPort: 80}]"}, "-", nil},
		{"one problem per field the policy refuses", []string{"mcr.microsoft.com/windows/servercore:ltsc2022",
			"ports: [{hostPort: 8080, containerPort: 80}]", `mounts: [{hostPath: 'D:\sites', containerPath: 'C:\s'}]`}, "",
			[]string{"spec.mounts[0].hostPath: web is rejected (policy): ", "spec.ports[0].hostPort: web is rejected (policy): "}},
		{"what the policy allows", []string{"mcr.microsoft.com/windows/servercore:ltsc2022", "ports: [{hostPort: 8080, containerPort: 80}]"}, "ports: ['8080/tcp']\n", nil},
		{"a spec for other hosts on its image's build", []string{"mcr.microsoft.com/windows/servercore:ltsc2019", "isolation: process", "hosts: ['OLD-*']"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			testutil.WriteSpec(t, dir, "web.yaml", "web", tt.spec[0], tt.spec[1:]...)
			var pc *policy.Checker
			if tt.pc != "-" {
				pc = checker(t, tt.pc)
			}
			snap, err := spec.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			got := Admission(ltsc2022, pc)(snap)
			if len(got) != len(tt.wants) {
				t.Fatalf("problems %v, want %d: %q", got, len(tt.wants), tt.wants)
			}
			for i, e := range got {
				if line := e.Field + ": " + e.Message; e.File != filepath.Join(dir, "web.yaml") || e.Line != 1 || !strings.HasPrefix(line, tt.wants[i]) {
					t.Errorf("problem %d: %s:%d: %s, want at web.yaml:1 %q", i, e.File, e.Line, line, tt.wants[i])
				}
			}
		})
	}
}
