//go:build windows

package hcs

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/Microsoft/hcsshim/osversion"
	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/winbuild"
)

// verNTWorkstation is VER_NT_WORKSTATION, the ProductType of client
// Windows (x/sys/windows does not define it).
const verNTWorkstation = 1

// hostVersion reads the host's Windows version and SKU; tests replace it.
type hostVersion func() (driver.OSVersion, driver.SKU)

// windowsVersion is the real hostVersion: osversion.Get() (RtlGetVersion,
// which manifests do not bend) plus the update build revision from the
// registry, and the SKU from the product type.
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

// Host implements driver.Driver.
func (d *Driver) Host(ctx context.Context) (driver.Host, error) {
	v, sku := d.version()
	name, err := os.Hostname()
	if err != nil {
		return driver.Host{}, fmt.Errorf("host name: %w", err)
	}
	return driver.Host{OSVersion: v, SKU: sku, Name: name, Driver: driver.NameHCS}, nil
}

// Preflight checks that this host and process can run containers through
// HCS: Windows build 17763 or later, the Containers feature installed
// (vmcompute.dll loads) and administrator rights. It reports every failed
// check, each saying what to do.
func Preflight() error {
	v, _ := windowsVersion()
	return preflight(v, windows.NewLazySystemDLL("vmcompute.dll").Load, isElevated)
}

func preflight(v driver.OSVersion, loadVmcompute func() error, elevated func() bool) error {
	var errs []error
	if v.Major < 10 || v.Build < winbuild.LTSC2019 {
		errs = append(errs, fmt.Errorf("windows %s is too old: isoagent needs build %d (Windows Server 2019, Windows 10 1809) or later", v, winbuild.LTSC2019))
	}
	if err := loadVmcompute(); err != nil {
		errs = append(errs, fmt.Errorf("cannot load vmcompute.dll (%v): install the Containers feature (Windows Server: Install-WindowsFeature Containers; Windows 10/11: Enable-WindowsOptionalFeature -Online -FeatureName Containers, Microsoft-Hyper-V), then restart the computer", err))
	}
	if !elevated() {
		errs = append(errs, errors.New("isoagent needs administrator rights to use HCS and HNS: run it from an elevated prompt, or install it as a service (isoagent service install), which runs as LocalSystem"))
	}
	return errors.Join(errs...)
}

func isElevated() bool {
	return windows.GetCurrentProcessToken().IsElevated()
}
