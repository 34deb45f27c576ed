//go:build windows

package hcs

import (
	"errors"
	"strings"
	"testing"

	"github.com/Microsoft/hcsshim/hcn"
	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
)

// TestQueryServiceAsksTheServiceControlManager runs against Wine's service
// control manager, where scripts/hcs-test registers the services the
// Containers feature and the Hyper-V role install (GO_TEST_WINE_SERVICES).
func TestQueryServiceAsksTheServiceControlManager(t *testing.T) {
	requireFake(t)
	for _, name := range []string{serviceHCS, serviceHNS, serviceHyperV} {
		st, err := queryService(name)
		if err != nil || !st.Installed || st.StartType != windows.SERVICE_DEMAND_START || st.State != windows.SERVICE_STOPPED {
			t.Errorf("queryService(%s) = %+v, %v; want installed, demand start, stopped (scripts/hcs-test registers it)", name, st, err)
		}
	}
	if st, err := queryService("isoagent-no-such-service"); err != nil || st.Installed {
		t.Errorf("queryService of a service that does not exist = %+v, %v; want not installed and no error", st, err)
	}
}

// TestHostSaysWhetherHyperVRuns: Host reports Hyper-V available where the
// Hyper-V role's service is installed, unavailable on a Windows Server
// without it, unknown on a client without it (the hypervisor alone may
// do there), and unavailable from the first start HCS refused for want of
// the feature, whatever the service says.
func TestHostSaysWhetherHyperVRuns(t *testing.T) {
	tests := []struct {
		name    string
		service string // the Hyper-V service the driver looks for
		sku     driver.SKU
		refused bool // a Hyper-V container's start failed first
		want    driver.Availability
		detail  string
	}{
		{name: "the role's service is installed", service: serviceHyperV, sku: driver.SKUServer, want: driver.Available, detail: "vmms service"},
		{name: "a server without the role", service: "isoagent-no-vmms", sku: driver.SKUServer, want: driver.Unavailable, detail: "the Hyper-V role is not installed"},
		{name: "a client without the service", service: "isoagent-no-vmms", sku: driver.SKUClient, want: driver.AvailabilityUnknown},
		{name: "HCS refused a start", service: serviceHyperV, sku: driver.SKUServer, refused: true, want: driver.Unavailable, detail: "0xc0370102"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost(t)
			d := h.client(t, testOwner)
			d.hyperVService = tt.service
			version := d.probe.version
			d.probe.version = func() (driver.OSVersion, driver.SKU) { v, _ := version(); return v, tt.sku }
			if tt.refused {
				h.drill(t, "hyperv off")
				cfg := config("vm", driver.HyperV)
				if err := d.Create(t.Context(), cfg); err != nil {
					t.Fatal(err)
				}
				if err := d.Start(t.Context(), cfg.ID); !errors.Is(err, driver.ErrNotSupported) {
					t.Fatalf("Start on a host without Hyper-V = %v, want not supported", err)
				}
			}
			hi, err := d.Host(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if hi.HyperV != tt.want || !strings.Contains(hi.HyperVDetail, tt.detail) {
				t.Errorf("Host = %s (%q), want %s (%q)", hi.HyperV, hi.HyperVDetail, tt.want, tt.detail)
			}
		})
	}
}

// TestDiagnoseTheFakeHost: the fake host has everything the driver needs
// (scripts/hcs-test registers the services, the fake answers HCS and HNS),
// so every check passes; each drill that takes a part away fails its
// check, with what to do.
func TestDiagnoseTheFakeHost(t *testing.T) {
	tests := []struct {
		name  string
		drill string
		edit  func(*Driver)
		check string // the check that fails; "" when all pass
		fix   string
	}{
		{name: "a ready host"},
		{name: "an HNS without HCN v2", drill: "hns-version 7.2", check: "HCN v2", fix: "update Windows"},
		{name: "a network HNS does not have", edit: func(d *Driver) { d.network = "ext" }, check: "nat network", fix: "Start-Service docker"},
		{name: "Docker's containerd image store", edit: func(d *Driver) { d.images = DockerStore{Root: `C:\nowhere`, ContainerdStore: true} }, check: "Docker's image store", fix: "containerd-snapshotter"},
		{name: "no image store", edit: func(d *Driver) { d.images = DockerStore{Root: `C:\nowhere`} }, check: "Docker's image store", fix: "docker pull"},
		{name: "not elevated", edit: func(d *Driver) { d.probe.elevated = func() bool { return false } }, check: "administrator rights", fix: "elevated prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost(t)
			d := h.client(t, testOwner)
			if tt.drill != "" {
				h.drill(t, tt.drill)
			}
			if tt.edit != nil {
				tt.edit(d)
			}
			names := map[string]bool{}
			for _, c := range d.Diagnose(t.Context()) {
				names[c.Name] = true
				switch {
				case c.Name == tt.check:
					if c.Status != driver.CheckFail || !strings.Contains(c.Fix, tt.fix) {
						t.Errorf("%s: %s %q, fix %q; want it to fail with a fix saying %q", c.Name, c.Status, c.Detail, c.Fix, tt.fix)
					}
				case c.Status != driver.CheckPass:
					t.Errorf("%s: %s %q (fix %q), want it to pass on the fake host", c.Name, c.Status, c.Detail, c.Fix)
				}
			}
			for _, want := range []string{"Windows build", "Containers feature", "vmcompute service", "hns service", "HCN v2", "administrator rights", "Hyper-V", "nat network", "Docker's image store"} {
				if !names[want] {
					t.Errorf("Diagnose has no %q check: %v", want, names)
				}
			}
		})
	}
}

// TestPreflightOnTheFakeHost: the checks that stop the agent pass on the
// fake host, and an HNS without HCN v2 stops it.
func TestPreflightOnTheFakeHost(t *testing.T) {
	h := newFakeHost(t)
	if err := Preflight(); err != nil {
		t.Fatalf("Preflight on the fake host: %v", err)
	}
	h.drill(t, "hns-version 9.1")
	if err := Preflight(); err == nil || !strings.Contains(err.Error(), "HCN v2") {
		t.Errorf("Preflight with HNS 9.1 = %v, want it to say HCN v2 is missing", err)
	}
	v, err := windowsProbe().hns()
	if err != nil || v != (hcn.Version{Major: 9, Minor: 1}) {
		t.Errorf("the HNS version through hcsshim = %+v, %v; want 9.1", v, err)
	}
}
