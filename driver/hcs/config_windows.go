//go:build windows

package hcs

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/Microsoft/hcsshim"
	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
)

// maxNetBIOSName is the longest computer name NetBIOS keeps; Windows cuts
// a longer host name to it for NetBIOS and some tools show the cut one.
const maxNetBIOSName = 15

// containerConfig builds the schema-v1 document for rec. volumePath is the
// mounted scratch volume (process isolation only, without the trailing
// '\' HCS rejects); layerIDs are the HCS GUIDs of rec.Layers, same order;
// hostCPUs is how many processors the host has. It returns, besides the
// document, what it changed from the config and why.
func containerConfig(rec *record, volumePath string, layerIDs []string, hostCPUs int) (*hcsshim.ContainerConfig, []string, error) {
	cfg := rec.Config
	c := &hcsshim.ContainerConfig{
		SystemType:      "Container",
		Name:            cfg.Name,
		Owner:           cfg.Owner,
		HostName:        cmp.Or(cfg.HostName, cfg.Name),
		LayerFolderPath: rec.Scratch,
		// Flushes are skipped on the first boot only, as moby does: a
		// crash then loses a scratch that held nothing yet. StartedAt
		// stays set once a start succeeded.
		IgnoreFlushesDuringBoot: rec.StartedAt.IsZero(),
		// Containers must outlive the agent: a restarted agent adopts them.
		TerminateOnLastHandleClosed: false,
	}
	var warnings []string
	if len(c.HostName) > maxNetBIOSName {
		warnings = append(warnings, fmt.Sprintf("the container's host name %q is longer than the %d characters NetBIOS keeps; programs that use NetBIOS names see %q", c.HostName, maxNetBIOSName, c.HostName[:maxNetBIOSName]))
	}
	for i, path := range rec.Layers {
		c.Layers = append(c.Layers, hcsshim.Layer{ID: layerIDs[i], Path: path})
	}
	switch cfg.Isolation {
	case driver.Process:
		c.VolumePath = strings.TrimSuffix(volumePath, `\`)
	case driver.HyperV:
		uvm, err := utilityVMPath(rec.Layers)
		if err != nil {
			return nil, nil, err
		}
		c.HvPartition = true
		c.HvRuntime = &hcsshim.HvRuntime{ImagePath: uvm}
	default:
		return nil, nil, fmt.Errorf("isolation %q: %w", cfg.Isolation, driver.ErrNotSupported)
	}
	r := cfg.Resources
	count, maximum := r.CPUCount, r.CPUMaximumPercent
	if count > hostCPUs && hostCPUs > 0 {
		// moby caps the count at the host's processors
		// (libcontainerd/local, extractResourcesFromSpec).
		warnings = append(warnings, fmt.Sprintf("cpuCount %d is more than the host's %d processors; the container gets %d", count, hostCPUs, hostCPUs))
		count = hostCPUs
	}
	if cfg.Isolation == driver.Process && count > 0 && maximum > 0 {
		// For process isolation HCS takes one processor limit only;
		// moby keeps the count (verifyPlatformContainerResources).
		warnings = append(warnings, fmt.Sprintf("cpuCount takes priority over cpuMaximumPercent with process isolation; cpuMaximumPercent %d is not applied", maximum))
		maximum = 0
	}
	if count > 0 {
		c.ProcessorCount = uint32(count)
	}
	if maximum > 0 {
		// HCS counts in hundredths of a percent (1..10000); with Hyper-V
		// isolation, of the utility VM's processors.
		c.ProcessorMaximum = int64(maximum) * 100
	}
	if r.MemoryMB > 0 {
		c.MemoryMaximumInMB = int64(r.MemoryMB)
	}
	for _, m := range cfg.Mounts {
		c.MappedDirectories = append(c.MappedDirectories, hcsshim.MappedDir{
			HostPath:      m.HostPath.String(),
			ContainerPath: m.ContainerPath.String(),
			ReadOnly:      m.ReadOnly,
		})
	}
	for _, p := range cfg.Pipes {
		c.MappedPipes = append(c.MappedPipes, hcsshim.MappedPipe{
			HostPath:          p.HostPipe.String(),
			ContainerPipeName: p.ContainerPipe.Name(),
		})
	}
	if cfg.NetworkSharedWith != "" {
		c.NetworkSharedContainerName = cfg.NetworkSharedWith
	}
	c.EndpointList = append(append([]string(nil), rec.Endpoints...), rec.SharedEndpoints...)
	if len(rec.Endpoints) > 0 {
		// Names without a domain resolve on nat, as dockerd lets them
		// (libnetwork's windows driver, EndpointOperInfo).
		c.AllowUnqualifiedDNSQuery = true
	}
	if len(cfg.DNSSearch) > 0 {
		c.DNSSearchList = strings.Join(cfg.DNSSearch, ",")
	}
	for _, g := range cfg.Devices {
		c.AssignedDevices = append(c.AssignedDevices, hcsshim.AssignedDevice{InterfaceClassGUID: g})
	}
	return c, warnings, nil
}

// utilityVMPath finds the utility VM image a Hyper-V container boots: the
// UtilityVM folder of the uppermost layer that has one (hcsshim's
// uvmfolder.LocateUVMFolder).
func utilityVMPath(layers []string) (string, error) {
	for _, l := range layers {
		p := filepath.Join(l, "UtilityVM")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no layer of the image has a UtilityVM folder, so it cannot run with Hyper-V isolation: %w", driver.ErrNotSupported)
}

// commandLine joins argv into a Windows command line, quoting each argument
// the way the C runtime splits them again.
func commandLine(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = windows.EscapeArg(a)
	}
	return strings.Join(quoted, " ")
}

// initCommandLine is the command line of a container's init process: the
// config's command, else the image's default. The image's first element
// is kept as it is when the image was built with ArgsEscaped (it is then a
// command line already, from a shell-form CMD or ENTRYPOINT), and the rest
// is quoted, as moby builds it (daemon/oci_windows.go).
func initCommandLine(cfg driver.Config, im ResolvedImage) (string, error) {
	if len(cfg.Command) > 0 {
		return commandLine(cfg.Command), nil
	}
	argv := im.Command()
	if len(argv) == 0 {
		return "", fmt.Errorf("no command given and image %s has no default command: %w", im.Ref, driver.ErrInvalidConfig)
	}
	if im.ArgsEscaped {
		line := argv[0]
		if len(argv) > 1 {
			line += " " + commandLine(argv[1:])
		}
		return line, nil
	}
	return commandLine(argv), nil
}

// processConfig is the init process's configuration: rec's process
// settings, fixed at create (a record from before they were kept has the
// config's own).
func processConfig(rec *record) *hcsshim.ProcessConfig {
	p := processSpec{WorkingDir: rec.Config.WorkingDir, Env: rec.Config.Env, User: rec.Config.User}
	if rec.Process != nil {
		p = *rec.Process
	}
	if p.WorkingDir == "" {
		p.WorkingDir = defaultWorkingDir
	}
	return &hcsshim.ProcessConfig{
		CommandLine:      rec.CommandLine,
		User:             p.User,
		WorkingDirectory: p.WorkingDir,
		Environment:      p.Env,
	}
}

// redacted is shown instead of a value that may be a secret.
const redacted = "<redacted>"

// documentOf renders an HCS document for an error message, with the
// values that may be secrets (environment values, credential specs)
// left out.
func documentOf(v any) string {
	switch d := v.(type) {
	case *hcsshim.ContainerConfig:
		c := *d
		if c.Credentials != "" {
			c.Credentials = redacted
		}
		v = &c
	case *hcsshim.ProcessConfig:
		p := *d
		p.Environment = make(map[string]string, len(d.Environment))
		for k := range d.Environment {
			p.Environment[k] = redacted
		}
		v = &p
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	return string(b)
}
