//go:build windows

package hcs

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/credspec"
	"github.com/isoagent/isoagent/driver"
)

// gmsa is a credential spec as New-CredentialSpec writes it.
const gmsa = `{"CmsPlugins":["ActiveDirectory"],"DomainJoinConfig":{"Sid":"S-1-5-21-702590844-1001920913-2680819671","MachineAccountName":"webapp01","Guid":"56d9b66c-d746-4f87-bd26-26760cfdca2e","DnsTreeName":"corp.example","DnsName":"corp.example","NetBiosName":"CORP"},"ActiveDirectoryConfig":{"GroupManagedServiceAccounts":[{"Name":"webapp01","Scope":"corp.example"},{"Name":"webapp01","Scope":"CORP"}]}}`

func (h *fakeHost) credentialSpecDir() string { return filepath.Join(h.agent, credspec.DirName) }

func (h *fakeHost) writeCredentialSpec(t *testing.T, name, content string) {
	t.Helper()
	writeFile(t, filepath.Join(h.credentialSpecDir(), name), content)
}

// TestCredentialSpecGoesToHCS: the content of the credential spec a config
// names, read from the driver's folder, is the document's Credentials, as
// moby passes it for schema v1; it is read again for each new compute
// system, so an edited file applies from the next start.
func TestCredentialSpecGoesToHCS(t *testing.T) {
	h := newFakeHost(t)
	d := h.client(t, testOwner)
	h.writeCredentialSpec(t, "webapp01.json", gmsa)
	cfg := config("web", driver.Process)
	cfg.CredentialSpec = "webapp01.json"
	cfg.Command = []string{"ping", "-n", "1", "localhost"}
	h.run(t, d, cfg)
	if got := h.last(t, "HcsCreateComputeSystem")["Credentials"]; got != gmsa {
		t.Errorf("Credentials = %v, want the credential spec's content", got)
	}
	edited := strings.Replace(gmsa, "webapp01", "webapp02", -1)
	h.writeCredentialSpec(t, "webapp01.json", edited)
	waitState(t, d, cfg.ID, driver.StateExited)
	if err := d.Start(t.Context(), cfg.ID); err != nil {
		t.Fatal(err)
	}
	if got := h.last(t, "HcsCreateComputeSystem")["Credentials"]; got != edited {
		t.Errorf("Credentials after the file changed = %v, want the new content", got)
	}
}

// TestCredentialSpecRefusals: a credential spec that is not there yet is
// retried (it may be written next); one that is not a credential spec is
// refused for good; neither error quotes the content; a name that is a
// path never reaches a file outside the folder.
func TestCredentialSpecRefusals(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside.json")
	tests := []struct {
		name      string
		file      string // written to the folder as the spec's name, "" for none
		spec      string
		class     error
		permanent bool
		says      string
	}{
		{name: "not there", spec: "webapp01.json", class: driver.ErrHostPathNotFound, says: "New-CredentialSpec"},
		{name: "not JSON", file: `{"CmsPlugins": ["ActiveDirectory"], "Password": "hunter2"`, spec: "webapp01.json", class: driver.ErrInvalidConfig, permanent: true, says: "not JSON"},
		{name: "not a credential spec", file: `{"Password": "hunter2"}`, spec: "webapp01.json", class: driver.ErrInvalidConfig, permanent: true, says: "DomainJoinConfig"},
		{name: "a path out of the folder", spec: `..\..\` + filepath.Base(outside), class: driver.ErrInvalidConfig, permanent: true, says: "is a path"},
	}
	if err := os.WriteFile(outside, []byte(gmsa), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost(t)
			d := h.client(t, testOwner)
			if tt.file != "" {
				h.writeCredentialSpec(t, tt.spec, tt.file)
			}
			cfg := config("web", driver.Process)
			cfg.CredentialSpec = tt.spec
			err := d.Create(t.Context(), cfg)
			if !errors.Is(err, tt.class) || driver.IsPermanent(err) != tt.permanent || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Create = %v; want %v (permanent %v) saying %q", err, tt.class, tt.permanent, tt.says)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error quotes the credential spec: %v", err)
			}
			h.assertClean(t)
			if tt.class == driver.ErrHostPathNotFound {
				h.writeCredentialSpec(t, tt.spec, gmsa)
				h.run(t, d, cfg)
			}
		})
	}
}

// TestCredentialSpecsOnlyFromAFolderAdministratorsKeep: a credential spec
// in a folder others may change is refused, whatever its content (Wine
// gives Z:\tmp the permissions of /tmp, which everyone may write).
func TestCredentialSpecsOnlyFromAFolderAdministratorsKeep(t *testing.T) {
	h := newFakeHost(t)
	d := h.clientWith(t, Options{Owner: testOwner, CredentialSpecDir: `Z:\tmp`})
	name := "isoagent-test-" + filepath.Base(h.root) + ".json"
	if err := os.WriteFile(filepath.Join(`Z:\tmp`, name), []byte(gmsa), 0o644); err != nil {
		t.Skipf("cannot write to Z:\tmp: %v", err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(`Z:\tmp`, name)) })
	cfg := config("web", driver.Process)
	cfg.CredentialSpec = name
	err := d.Create(t.Context(), cfg)
	if !errors.Is(err, driver.ErrInvalidConfig) || !errors.Is(err, credspec.ErrNotProtected) || !strings.Contains(err.Error(), `icacls "Z:\tmp"`) {
		t.Fatalf("Create with a credential spec from Z:\tmp = %v, want it refused as not protected, with the fix", err)
	}
	h.assertClean(t)
}

// TestHostNameAndDNSServers: a config's host name goes to HCS (its name
// does when it has none), and its DNS servers to its endpoint, as dockerd
// gives a container's --dns to its HNS endpoint; a container with no
// endpoint of its own cannot have them.
func TestHostNameAndDNSServers(t *testing.T) {
	h := newFakeHost(t)
	var logs logBuffer
	d := h.clientWith(t, Options{Owner: testOwner, Logger: logs.logger(t)})
	cfg := config("web", driver.Process)
	cfg.HostName = "payments-gateway-01"
	cfg.DNS = []netip.Addr{netip.MustParseAddr("10.0.0.53"), netip.MustParseAddr("fd00::53")}
	h.run(t, d, cfg)
	if got := h.last(t, "HcsCreateComputeSystem")["HostName"]; got != "payments-gateway-01" {
		t.Errorf("HostName = %v, want the config's", got)
	}
	if !strings.Contains(logs.String(), `payments-gateway-01\" is longer than the 15 characters NetBIOS keeps`) {
		t.Errorf("no NetBIOS warning for the given host name:\n%s", logs.String())
	}
	ep := h.last(t, "HNSCall")
	if got := ep["DNSServerList"]; got != "10.0.0.53,fd00::53" {
		t.Errorf("the endpoint's DNSServerList = %v, want the config's servers in order", got)
	}
	if err := d.Stop(t.Context(), cfg.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, other := range []func(*driver.Config){
		func(c *driver.Config) { c.Network = "none" },
		func(c *driver.Config) { c.NetworkSharedWith = "web" },
	} {
		c := config("sidecar", driver.Process)
		c.DNS = cfg.DNS
		other(&c)
		if err := d.Create(t.Context(), c); !errors.Is(err, driver.ErrInvalidConfig) || !strings.Contains(err.Error(), "own network endpoint") {
			t.Errorf("Create of a container without an endpoint of its own, with DNS servers = %v, want ErrInvalidConfig", err)
		}
	}
}
