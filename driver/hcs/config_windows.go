//go:build windows

package hcs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/Microsoft/hcsshim"
	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
)

// containerConfig builds the schema-v1 document for rec. volumePath is the
// mounted scratch volume (process isolation only, without the trailing
// '\' HCS rejects); layerIDs are the HCS GUIDs of rec.Layers, same order.
func containerConfig(rec *record, volumePath string, layerIDs []string) (*hcsshim.ContainerConfig, error) {
	cfg := rec.Config
	c := &hcsshim.ContainerConfig{
		SystemType:      "Container",
		Name:            cfg.Name,
		Owner:           cfg.Owner,
		HostName:        cfg.Name,
		LayerFolderPath: rec.Scratch,
		// Containers must outlive the agent: a restarted agent adopts them.
		TerminateOnLastHandleClosed: false,
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
			return nil, err
		}
		c.HvPartition = true
		c.HvRuntime = &hcsshim.HvRuntime{ImagePath: uvm}
	default:
		return nil, fmt.Errorf("isolation %q: %w", cfg.Isolation, driver.ErrNotSupported)
	}
	r := cfg.Resources
	if r.CPUCount > 0 {
		c.ProcessorCount = uint32(r.CPUCount)
	}
	if r.CPUMaximumPercent > 0 {
		// HCS counts in hundredths of a percent (1..10000).
		c.ProcessorMaximum = int64(r.CPUMaximumPercent) * 100
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
	if len(cfg.DNSSearch) > 0 {
		c.DNSSearchList = strings.Join(cfg.DNSSearch, ",")
	}
	for _, g := range cfg.Devices {
		c.AssignedDevices = append(c.AssignedDevices, hcsshim.AssignedDevice{InterfaceClassGUID: g})
	}
	return c, nil
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
// config's command, else the image's default. An image built with
// ArgsEscaped keeps its command line as is (moby does the same).
func initCommandLine(cfg driver.Config, im ResolvedImage) (string, error) {
	if len(cfg.Command) > 0 {
		return commandLine(cfg.Command), nil
	}
	argv := im.Command()
	if len(argv) == 0 {
		return "", fmt.Errorf("no command given and image %s has no default command: %w", im.Ref, driver.ErrNotSupported)
	}
	if im.ArgsEscaped {
		return strings.Join(argv, " "), nil
	}
	return commandLine(argv), nil
}

// processConfig is the init process's configuration.
func processConfig(rec *record) *hcsshim.ProcessConfig {
	wd := rec.Config.WorkingDir
	if wd == "" {
		wd = `C:\`
	}
	return &hcsshim.ProcessConfig{
		CommandLine:      rec.CommandLine,
		User:             rec.Config.User,
		WorkingDirectory: wd,
		Environment:      rec.Config.Env,
	}
}
