package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/isoagent/isoagent/crilog"
	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/winbuild"
)

// driverOptions are the flags that choose and shape the driver, shared by
// run and plan.
type driverOptions struct {
	name    string // auto, sim or hcs
	simDir  string
	simHost string
	simSKU  string
	owner   string
	// hcsStateDir and dockerRoot move the hcs driver's folders; empty
	// means %ProgramData%\isoagent and Docker's data root.
	hcsStateDir string
	dockerRoot  string
	// hcsScratchGB is the size, in GB, each container's scratch disk
	// grows to; 0 keeps the size HCS makes.
	hcsScratchGB int
	// credSpecDir is the gMSA credential-spec folder; empty means
	// CredentialSpecs in the driver's state folder.
	credSpecDir string
	logger      *slog.Logger
	secrets     driver.SecretSource // where the driver reads secrets; nil: none
	// monitor is the command of a run's monitor (`isoagent monitor`);
	// nil for a driver that starts no containers (plan).
	monitor []string
	// simMonitors gives the folder-backed sim's runs the monitor; false
	// runs its containers without one (run's --sim-monitors=false).
	simMonitors bool
	// logMaxSize and logMaxFiles bound each run's container log.
	logMaxSize  int64
	logMaxFiles int
	// simHostSet reports that --sim-host or --sim-sku was given, so it
	// overrides the host a state folder was created with.
	simHostSet bool
}

func (o *driverOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.name, "driver", "auto", "container host: auto (hcs on Windows, sim elsewhere), sim or hcs")
	fs.StringVar(&o.simDir, "sim-dir", defaultSimDir(), "state folder of the simulated host")
	fs.StringVar(&o.simHost, "sim-host", "10.0.20348", "OS version of the simulated host (when its folder is new, or when given)")
	fs.StringVar(&o.simSKU, "sim-sku", "server", "SKU of the simulated host: server or client")
	fs.StringVar(&o.owner, "owner", "isoagent", "owner tag of the containers this agent manages")
	fs.StringVar(&o.hcsStateDir, "hcs-state-dir", "", `hcs driver: folder of the agent's container records and scratch layers (default %ProgramData%\isoagent)`)
	fs.StringVar(&o.dockerRoot, "docker-root", "", "hcs driver: Docker's data root, where images are read from (default: Docker's own setting)")
	fs.IntVar(&o.hcsScratchGB, "hcs-scratch-size", 127, "hcs driver: size in GB each container's C: drive (its scratch layer) grows to, as Docker's 127; 0 keeps the 20 GB HCS makes")
	fs.Int64Var(&o.logMaxSize, "container-log-max-size", crilog.DefaultMaxSize, "size in `bytes` at which a container's log is rotated, as the kubelet's flag")
	fs.IntVar(&o.logMaxFiles, "container-log-max-files", crilog.DefaultMaxFiles, "log files kept per run of a container, the current one included, as the kubelet's flag")
	fs.StringVar(&o.credSpecDir, "credential-spec-dir", "", `folder of the gMSA credential specs specs name in credentialSpec, writable by administrators only (default CredentialSpecs in the driver's state folder: %ProgramData%\isoagent\CredentialSpecs, or the sim's)`)
}

// parsed notes which flags were given; call it after fs.Parse.
func (o *driverOptions) parsed(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "sim-host" || f.Name == "sim-sku" {
			o.simHostSet = true
		}
	})
}

// openDriver opens the driver the options name and returns it with its
// name.
func openDriver(o driverOptions) (driver.Driver, string, error) {
	name := o.name
	if name == "auto" {
		name = autoDriver
	}
	switch name {
	case driver.NameSim:
		v, err := winbuild.ParseVersion(o.simHost)
		if err != nil {
			return nil, "", fmt.Errorf("--sim-host: %w", err)
		}
		sku, err := driver.ParseSKU(o.simSKU)
		if err != nil {
			return nil, "", fmt.Errorf("--sim-sku: %w", err)
		}
		mon := o.monitor
		if !o.simMonitors {
			mon = nil
		}
		d, err := sim.Open(o.simDir, sim.Options{
			Owner:             o.owner,
			Host:              driver.Host{OSVersion: v, SKU: sku},
			OverrideHost:      o.simHostSet,
			CredentialSpecDir: o.credSpecDir,
			Logger:            o.logger,
			Secrets:           o.secrets,
			Monitor:           mon,
			LogMaxSize:        o.logMaxSize,
			LogMaxFiles:       o.logMaxFiles,
		})
		if err != nil {
			return nil, "", fmt.Errorf("open simulated host %s: %w", o.simDir, err)
		}
		return d, name, nil
	case driver.NameHCS:
		d, err := openHCS(o)
		return d, name, err
	}
	return nil, "", fmt.Errorf("--driver %q: want auto, sim or hcs", o.name)
}

// closeDriver releases drv when it holds anything (the hcs driver's
// handles); the containers keep running.
func closeDriver(drv driver.Driver) error {
	if c, ok := drv.(io.Closer); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("release the driver (the containers keep running): %w", err)
		}
	}
	return nil
}
