//go:build windows

package doctor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
)

// requireFake skips t unless the fake HCS is there, under Wine
// (scripts/hcs-test): doctor must never be tested against a real host's
// HCS by accident.
func requireFake(t *testing.T) {
	t.Helper()
	if windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() != nil {
		t.Skip("not under Wine: this test needs the fake HCS (run scripts/hcs-test ./doctor/...)")
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("SystemRoot"), "system32", "vmcompute.dll")); err != nil {
		t.Skip("no fake vmcompute.dll in system32: run scripts/hcs-test ./doctor/...")
	}
}

func drill(t *testing.T, command string) {
	t.Helper()
	p, err := windows.UTF16PtrFromString(command)
	if err != nil {
		t.Fatal(err)
	}
	if hr, _, _ := windows.NewLazySystemDLL("vmcompute.dll").NewProc("FakeHcsDrill").Call(uintptr(unsafe.Pointer(p))); hr != 0 {
		t.Fatalf("drill %q: HRESULT 0x%08x", command, hr)
	}
}

// TestDoctorOnTheFakeHCS runs isoagent doctor with the hcs driver against
// the fake HCS under Wine, whose prefix has the services the Containers
// feature and the Hyper-V role install (scripts/hcs-test registers them):
// every check passes; an HNS without HCN v2 and a state folder everyone
// may write (Wine gives /tmp's permissions to Z:\tmp) fail theirs.
func TestDoctorOnTheFakeHCS(t *testing.T) {
	requireFake(t)
	tests := []struct {
		name   string
		drill  string
		state  string // the state folder; "" for a fresh one
		failed map[string]string
	}{
		{name: "a ready host"},
		{name: "HNS without HCN v2", drill: "hns-version 7.2", failed: map[string]string{"HCN v2": "update Windows"}},
		{name: "a state folder everyone may write", state: `Z:\tmp`, failed: map[string]string{"state folder": `icacls "Z:\tmp" /setowner Administrators`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			t.Setenv("FAKEHCS_STATE", filepath.Join(root, "hcs"))
			docker := filepath.Join(root, "docker")
			write(t, filepath.Join(docker, "image", "windowsfilter", "repositories.json"), `{"Repositories":{}}`)
			write(t, filepath.Join(root, "specs", "web.yaml"), goodSpec)
			write(t, filepath.Join(root, "etc", "policy.yaml"), goodPolicy)
			state := tt.state
			if state == "" {
				state = filepath.Join(root, "state")
				if err := os.Mkdir(state, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if tt.drill != "" {
				drill(t, tt.drill)
			}
			var stdout, stderr bytes.Buffer
			code := Main([]string{"--driver", "hcs", "--json", "--hcs-state-dir", state, "--docker-root", docker,
				"--dir", filepath.Join(root, "specs"), "--policy", filepath.Join(root, "etc", "policy.yaml")}, &stdout, &stderr)
			var checks []driver.Check
			if err := json.Unmarshal(stdout.Bytes(), &checks); err != nil {
				t.Fatalf("output is not JSON checks: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			want := exitOK
			if len(tt.failed) > 0 {
				want = exitProblem
			}
			if code != want {
				t.Errorf("exit %d, want %d", code, want)
			}
			names := map[string]bool{}
			for _, c := range checks {
				names[c.Name] = true
				fix, fails := tt.failed[c.Name]
				switch {
				case fails && (c.Status != driver.CheckFail || !strings.Contains(c.Fix, fix)):
					t.Errorf("%s: %s %q, fix %q; want it to fail with a fix saying %q", c.Name, c.Status, c.Detail, c.Fix, fix)
				case !fails && c.Status != driver.CheckPass:
					t.Errorf("%s: %s %q (fix %q), want it to pass", c.Name, c.Status, c.Detail, c.Fix)
				}
			}
			for _, n := range []string{"Containers feature", "Hyper-V", "vmcompute service", "hns service", "HCN v2", "nat network",
				"Docker's image store", "administrator rights", "spec folder", "policy file", "state folder", "credential-spec folder"} {
				if !names[n] {
					t.Errorf("no %q check: %v", n, names)
				}
			}
		})
	}
}
