package policy

import (
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// Hints say exactly what to write: add the entry to the list the policy
// file has, or add the whole line to a file without it; they never wrap
// the YAML in quotes, and never send a container that needs process
// isolation to Hyper-V.
func TestHintsCanBeFollowedLiterally(t *testing.T) {
	withLists := hintChecker(t, "apiVersion: isoagent/v1\nkind: Policy\nisolation: [hyperv]\nimageIsolation:\n  - images: ['docker.io/*']\n    isolation: [hyperv]\nmounts: [{path: 'D:\\sites', readOnly: true}]\nports: ['8000-8100/tcp']\n")
	bare := hintChecker(t, "apiVersion: isoagent/v1\nkind: Policy\n")
	none, err := NewChecker(nil)
	if err != nil {
		t.Fatal(err)
	}
	img := func(s string) imageref.Ref {
		r, err := imageref.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	mcr := img("mcr.microsoft.com/windows/nanoserver:ltsc2022")
	path := func(s string) winpath.Path {
		p, err := winpath.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	gpu := "5B45201D-F2F2-4F3B-85BB-30FF1F953599"
	tests := []struct {
		name  string
		pc    *Checker
		cfg   driver.Config
		field string
		want  string // the whole hint after the last "; "
	}{
		{"port, list in the file", withLists, driver.Config{Image: mcr, Isolation: driver.HyperV, Ports: []driver.Port{{HostPort: 8443, ContainerPort: 443, Protocol: "tcp"}}},
			"spec.ports[0].hostPort", "to allow it, add '8443/tcp' to ports: in the policy file p.yaml"},
		{"mount, list in the file", withLists, driver.Config{Image: mcr, Isolation: driver.HyperV, Mounts: []driver.Mount{{HostPath: path(`E:\logs`), ContainerPath: path(`C:\logs`)}}},
			"spec.mounts[0].hostPath", `to allow it, add {path: 'E:\logs'} to mounts: in the policy file p.yaml`},
		{"read-only mount written to", withLists, driver.Config{Image: mcr, Isolation: driver.HyperV, Mounts: []driver.Mount{{HostPath: path(`D:\sites\web`), ContainerPath: path(`C:\web`)}}},
			"spec.mounts[0].readOnly", `set readOnly: true on the mount, or, to allow writing, add {path: 'D:\sites\web'} to mounts: in the policy file p.yaml`},
		{"port, no list in the file", bare, driver.Config{Image: mcr, Isolation: driver.HyperV, Ports: []driver.Port{{HostPort: 8443, ContainerPort: 443, Protocol: "tcp"}}},
			"spec.ports[0].hostPort", "to allow it, add the line ports: ['8443/tcp'] to the policy file p.yaml"},
		{"network sharing", bare, driver.Config{Image: mcr, Isolation: driver.Process, NetworkSharedWith: "web"},
			"spec.network.mode", "to allow it, set networkSharing: true in the policy file p.yaml"},
		{"no policy file", none, driver.Config{Image: mcr, Isolation: driver.HyperV, Ports: []driver.Port{{HostPort: 8443, ContainerPort: 443, Protocol: "tcp"}}},
			"spec.ports[0].hostPort", "to allow it, run with --policy FILE, a policy file with the line ports: ['8443/tcp']"},
		{"process isolation where the policy allows hyperv", withLists, driver.Config{Image: mcr, Isolation: driver.Process},
			"spec.isolation", "use isolation: hyperv, or add process to isolation: in the policy file p.yaml"},
		{"devices need process isolation", withLists, driver.Config{Image: mcr, Isolation: driver.Process, Devices: []string{gpu}},
			"spec.isolation", "web needs process isolation (it maps host devices), so add process to isolation: in the policy file p.yaml"},
		{"a shared network needs process isolation", withLists, driver.Config{Image: mcr, Isolation: driver.Process, NetworkSharedWith: "db-0123456789ab"},
			"spec.isolation", "web needs process isolation (it shares the network of db), so add process to isolation: in the policy file p.yaml"},
		{"image rule, devices", withLists, driver.Config{Image: img("docker.io/library/x:1"), Isolation: driver.Process, Devices: []string{gpu}},
			"spec.isolation", "web needs process isolation (it maps host devices), so add process to the isolation: of imageIsolation[0] in the policy file p.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &spec.Container{Metadata: spec.Metadata{Name: "web"}}
			if tt.cfg.NetworkSharedWith != "" {
				c.Spec.Network.Mode = "container:db"
			}
			var got *Violation
			for _, v := range tt.pc.Check(c, tt.cfg, Leads{}) {
				if v.Field == tt.field {
					got = &v
				}
			}
			if got == nil {
				t.Fatalf("no violation at %s", tt.field)
			}
			if !strings.HasSuffix(got.Message, tt.want) {
				t.Errorf("%s:\n  %s\nwant it to end with\n  %s", tt.field, got.Message, tt.want)
			}
			if strings.Contains(got.Message, `"`) {
				t.Errorf("%s: %s: quotes around what to write", tt.field, got.Message)
			}
			if why := needsProcess(c, tt.cfg); why != "" && strings.Contains(got.Message, "isolation: hyperv") {
				t.Errorf("%s: %s: suggests hyperv for a container that %s", tt.field, got.Message, why)
			}
		})
	}
}

func hintChecker(t *testing.T, policy string) *Checker {
	t.Helper()
	p, err := Parse("p.yaml", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := NewChecker(p)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}
