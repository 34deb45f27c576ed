//go:build windows

package hcs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/Microsoft/hcsshim"
	"github.com/Microsoft/hcsshim/hcn"
	"github.com/Microsoft/hcsshim/osversion"
	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/winbuild"
)

// verNTWorkstation is VER_NT_WORKSTATION, the ProductType of client
// Windows (x/sys/windows does not define it).
const verNTWorkstation = 1

// Services the driver depends on. vmcompute is the Host Compute Service
// and hns the Host Network Service, both installed by the Containers
// feature (moby checks them the same way, daemon_windows.go checkSystem);
// vmms, Hyper-V Virtual Machine Management, comes with the Hyper-V role
// (Windows Server) or the Microsoft-Hyper-V feature (Windows 10/11).
const (
	serviceHCS    = "vmcompute"
	serviceHNS    = "hns"
	serviceHyperV = "vmms"
)

// hostProbe asks Windows what the driver needs of the host. Every part is
// a function so that tests can act out hosts Wine is not.
type hostProbe struct {
	// version reads the host's Windows version and SKU.
	version func() (driver.OSVersion, driver.SKU)
	// vmcompute loads vmcompute.dll, which the Containers feature installs.
	vmcompute func() error
	// elevated reports administrator rights.
	elevated func() bool
	// service tells whether a service is installed and how it starts.
	service func(name string) (serviceState, error)
	// hns asks HNS its version, which tells whether it speaks HCN v2.
	hns func() (hcn.Version, error)
}

// windowsProbe is the hostProbe of this host.
func windowsProbe() hostProbe {
	return hostProbe{
		version:   windowsVersion,
		vmcompute: windows.NewLazySystemDLL("vmcompute.dll").Load,
		elevated:  func() bool { return windows.GetCurrentProcessToken().IsElevated() },
		service:   queryService,
		hns: func() (hcn.Version, error) {
			g, err := hcn.GetGlobals()
			if err != nil {
				return hcn.Version{}, err
			}
			return g.Version, nil
		},
	}
}

// windowsVersion reads osversion.Get() (RtlGetVersion, which manifests do
// not bend) plus the update build revision from the registry, and the SKU
// from the product type.
func windowsVersion() (driver.OSVersion, driver.SKU) {
	v := osversion.Get()
	ov := driver.OSVersion{Major: v.MajorVersion, Minor: v.MinorVersion, Build: v.Build}
	if rev, err := osversion.BuildRevision(); err == nil {
		ov.Revision = rev
	}
	sku := driver.SKUServer
	if windows.RtlGetVersion().ProductType == verNTWorkstation {
		sku = driver.SKUClient
	}
	return ov, sku
}

// serviceState is what the service control manager says of a service.
type serviceState struct {
	Installed bool
	// StartType is windows.SERVICE_AUTO_START, SERVICE_DEMAND_START,
	// SERVICE_DISABLED, ...; State windows.SERVICE_RUNNING,
	// SERVICE_STOPPED, ...
	StartType uint32
	State     uint32
}

// queryService asks the service control manager about service name, with
// the rights any user has. A service that does not exist is not an error:
// it is not Installed.
func queryService(name string) (serviceState, error) {
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return serviceState{}, fmt.Errorf("open the service control manager: %w", err)
	}
	defer windows.CloseServiceHandle(m)
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return serviceState{}, err
	}
	s, err := windows.OpenService(m, p, windows.SERVICE_QUERY_STATUS|windows.SERVICE_QUERY_CONFIG)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return serviceState{}, nil
	}
	if err != nil {
		return serviceState{}, fmt.Errorf("open service %s: %w", name, err)
	}
	defer windows.CloseServiceHandle(s)
	st := serviceState{Installed: true}
	var status windows.SERVICE_STATUS
	if err := windows.QueryServiceStatus(s, &status); err != nil {
		return serviceState{}, fmt.Errorf("query service %s: %w", name, err)
	}
	st.State = status.CurrentState
	var need uint32
	if err := windows.QueryServiceConfig(s, nil, 0, &need); err != nil && !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) {
		return serviceState{}, fmt.Errorf("query the configuration of service %s: %w", name, err)
	}
	buf := make([]byte, max(need, uint32(unsafe.Sizeof(windows.QUERY_SERVICE_CONFIG{}))))
	cfg := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
	if err := windows.QueryServiceConfig(s, cfg, uint32(len(buf)), &need); err != nil {
		return serviceState{}, fmt.Errorf("query the configuration of service %s: %w", name, err)
	}
	st.StartType = cfg.StartType
	return st, nil
}

// Host implements driver.Driver. Whether the host can run Hyper-V
// isolated containers comes from hyperV.
func (d *Driver) Host(ctx context.Context) (driver.Host, error) {
	v, sku := d.probe.version()
	name, err := os.Hostname()
	if err != nil {
		return driver.Host{}, fmt.Errorf("host name: %w", err)
	}
	h := driver.Host{OSVersion: v, SKU: sku, Name: name, Driver: driver.NameHCS}
	h.HyperV, h.HyperVDetail = d.hyperV(sku)
	return h, nil
}

// hyperV tells whether the host can run Hyper-V isolated containers.
// Neither moby nor hcsshim asks before they start one: HCS creates it and
// refuses the start with 0xc0370102 (a required feature is not installed)
// on a host without Hyper-V. So the driver says unavailable only when it
// is sure, and otherwise lets HCS decide:
//
//   - HCS refused a start so since this driver began (learnNoHyperV):
//     installing Hyper-V takes a restart of the host, and with it of the
//     agent, so what HCS said holds for the driver's lifetime;
//   - on Windows Server, the vmms service is not installed: the Hyper-V
//     role that Hyper-V isolation needs installs it. Windows 10/11 may
//     run Hyper-V isolated containers with the hypervisor alone, so there
//     its absence proves nothing;
//   - the service control manager cannot be asked: unknown.
func (d *Driver) hyperV(sku driver.SKU) (driver.Availability, string) {
	d.mu.Lock()
	learned := d.noHyperV
	d.mu.Unlock()
	if learned != "" {
		return driver.Unavailable, learned
	}
	st, err := d.probe.service(d.hyperVService)
	switch {
	case err != nil:
		return driver.AvailabilityUnknown, ""
	case st.Installed:
		return driver.Available, fmt.Sprintf("the %s service (Hyper-V Virtual Machine Management) is installed", d.hyperVService)
	case sku == driver.SKUServer:
		return driver.Unavailable, fmt.Sprintf("the Hyper-V role is not installed: there is no %s service", d.hyperVService)
	}
	return driver.AvailabilityUnknown, ""
}

// learnNoHyperV records that HCS refused to start a Hyper-V isolated
// container for want of a feature: from now on Host says Hyper-V is
// unavailable, so admission refuses such containers before they are made.
func (d *Driver) learnNoHyperV(id string) {
	d.mu.Lock()
	first := d.noHyperV == ""
	if first {
		d.noHyperV = "HCS refused to start a Hyper-V isolated container: a required feature is not installed (0xc0370102)"
	}
	d.mu.Unlock()
	if first {
		d.log.Warn("HCS cannot start Hyper-V isolated containers on this host (a required feature is not installed); specs that need Hyper-V isolation are refused until the agent restarts",
			"id", id)
	}
}

// Preflight checks that this host and process can run containers through
// HCS: Windows build 17763 or later, the Containers feature installed
// (vmcompute.dll loads, the vmcompute and hns services are installed and
// not disabled), HNS speaks HCN v2, and administrator rights. It reports
// every failed check, each saying what to do; `isoagent doctor` shows
// these checks and more.
func Preflight() error {
	return windowsProbe().preflight()
}

func (p hostProbe) preflight() error {
	var errs []error
	for _, c := range p.checks() {
		if c.Status == driver.CheckFail {
			errs = append(errs, fmt.Errorf("%s: %s: %s", c.Name, c.Detail, c.Fix))
		}
	}
	return errors.Join(errs...)
}

// checks are the checks of the host that every use of the driver needs;
// each failed one stops the agent (Preflight).
func (p hostProbe) checks() []driver.Check {
	v, sku := p.version()
	var cs []driver.Check
	build := driver.Check{Name: "Windows build", Status: driver.CheckPass, Detail: fmt.Sprintf("%s (%s)", v, sku)}
	if n := winbuild.ReleaseName(v.Build); n != "" {
		build.Detail = fmt.Sprintf("%s (%s, %s)", v, n, sku)
	}
	if v.Major < 10 || v.Build < winbuild.LTSC2019 {
		build.Status = driver.CheckFail
		build.Detail = fmt.Sprintf("windows %s is too old", v)
		build.Fix = fmt.Sprintf("isoagent needs build %d (Windows Server 2019, Windows 10 1809) or later", winbuild.LTSC2019)
	}
	cs = append(cs, build)

	feature := "Install-WindowsFeature Containers, then restart the computer"
	if sku == driver.SKUClient {
		feature = "Enable-WindowsOptionalFeature -Online -FeatureName Containers, Microsoft-Hyper-V -All, then restart the computer"
	}
	containers := driver.Check{Name: "Containers feature", Status: driver.CheckPass, Detail: "vmcompute.dll loads"}
	if err := p.vmcompute(); err != nil {
		containers.Status = driver.CheckFail
		containers.Detail = fmt.Sprintf("cannot load vmcompute.dll (%v)", err)
		containers.Fix = "install the Containers feature: " + feature
	}
	cs = append(cs, containers)

	for _, svc := range []struct{ name, what string }{{serviceHCS, "Host Compute Service"}, {serviceHNS, "Host Network Service"}} {
		cs = append(cs, p.serviceCheck(svc.name, svc.what, feature))
	}

	hns := driver.Check{Name: "HCN v2", Status: driver.CheckPass}
	if ver, err := p.hns(); err != nil {
		hns.Status = driver.CheckFail
		hns.Detail = fmt.Sprintf("HNS does not tell its version (%s)", err.Error())
		hns.Fix = "start the Host Network Service (Start-Service hns); on a build older than 17763 HNS has no HCN v2: update Windows"
	} else if hns.Detail = fmt.Sprintf("HNS %d.%d", ver.Major, ver.Minor); !inRanges(ver, hcn.V2ApiSupport) {
		hns.Status = driver.CheckFail
		hns.Detail += " does not speak HCN v2 (9.2 or later)"
		hns.Fix = "update Windows: HCN v2 came with Windows Server 2019 (build 17763)"
	}
	cs = append(cs, hns)

	admin := driver.Check{Name: "administrator rights", Status: driver.CheckPass, Detail: "the process is elevated"}
	if !p.elevated() {
		admin.Status = driver.CheckFail
		admin.Detail = "the process is not elevated"
		admin.Fix = "isoagent needs administrator rights to use HCS and HNS: run it from an elevated prompt, or install it as a service (isoagent service install), which runs as LocalSystem"
	}
	return append(cs, admin)
}

// serviceCheck checks that a service the driver needs is installed and
// may start: HCS and HNS start on demand, so a stopped one is fine.
func (p hostProbe) serviceCheck(name, what, feature string) driver.Check {
	c := driver.Check{Name: name + " service", Status: driver.CheckPass}
	st, err := p.service(name)
	switch {
	case err != nil:
		c.Status, c.Detail = driver.CheckWarn, fmt.Sprintf("cannot ask the service control manager (%v)", err)
		c.Fix = "run isoagent as an administrator to check it"
	case !st.Installed:
		c.Status, c.Detail = driver.CheckFail, fmt.Sprintf("the %s (%s) is not installed", what, name)
		c.Fix = "install the Containers feature: " + feature
	case st.StartType == windows.SERVICE_DISABLED:
		c.Status, c.Detail = driver.CheckFail, fmt.Sprintf("the %s (%s) is disabled", what, name)
		c.Fix = fmt.Sprintf("Set-Service %s -StartupType Manual; Start-Service %s", name, name)
	case st.State == windows.SERVICE_RUNNING:
		c.Detail = "running"
	default:
		c.Detail = "installed, not running (it starts when it is called)"
	}
	return c
}

// inRanges reports whether v lies in one of rs (hcsshim's own test of
// HNS versions is not exported).
func inRanges(v hcn.Version, rs hcn.VersionRanges) bool {
	less := func(a, b hcn.Version) bool { return a.Major < b.Major || a.Major == b.Major && a.Minor < b.Minor }
	for _, r := range rs {
		if !less(v, r.MinVersion) && !less(r.MaxVersion, v) {
			return true
		}
	}
	return false
}

// Diagnose checks what the driver needs of this host, for isoagent
// doctor: Preflight's checks, Hyper-V, the NAT network and Docker's image
// store, each with what to do when it does not pass.
func (d *Driver) Diagnose(ctx context.Context) []driver.Check {
	cs := d.probe.checks()
	_, sku := d.probe.version()
	cs = append(cs, d.hyperVCheck(sku), d.networkCheck())
	if s, ok := d.images.(DockerStore); ok {
		cs = append(cs, s.Check())
	}
	return cs
}

func (d *Driver) hyperVCheck(sku driver.SKU) driver.Check {
	c := driver.Check{Name: "Hyper-V"}
	a, detail := d.hyperV(sku)
	install := "Install-WindowsFeature Hyper-V, then restart the host (in a virtual machine, enable nested virtualisation first)"
	if sku == driver.SKUClient {
		install = "Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V -All, then restart the computer"
	}
	switch a {
	case driver.Available:
		c.Status, c.Detail = driver.CheckPass, detail
	case driver.Unavailable:
		c.Status, c.Detail, c.Fix = driver.CheckWarn, detail+"; specs that need Hyper-V isolation are refused", install
		if sku == driver.SKUClient {
			// Hyper-V is the default isolation on Windows 10/11.
			c.Status = driver.CheckFail
		}
	default:
		c.Status, c.Detail = driver.CheckWarn, "cannot tell whether this host can run Hyper-V isolated containers; HCS refuses them at start if it cannot"
		c.Fix = "for Hyper-V isolation: " + install
	}
	return c
}

// networkCheck checks that HNS has the NAT network endpoints are made on.
func (d *Driver) networkCheck() driver.Check {
	c := driver.Check{Name: "nat network", Status: driver.CheckPass}
	n, err := hcsshim.GetHNSNetworkByName(d.network)
	if err != nil {
		c.Status = driver.CheckFail
		var nf hcsshim.NetworkNotFoundError
		if errors.As(err, &nf) {
			c.Detail = fmt.Sprintf("HNS has no network named %q", d.network)
		} else {
			c.Detail = fmt.Sprintf("cannot ask HNS for network %q (%s)", d.network, err.Error())
		}
		c.Fix = fmt.Sprintf("start Docker once (Start-Service docker), which makes its %q network, and again after a reboot on Windows Server 2019, which does not keep NAT networks; containers with network: none need none", d.network)
		return c
	}
	c.Detail = fmt.Sprintf("network %q (%s, %s)", n.Name, n.Type, n.Id)
	return c
}
