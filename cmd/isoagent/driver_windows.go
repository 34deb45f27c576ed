//go:build windows

package main

import (
	"fmt"
	"os"

	"github.com/sirupsen/logrus"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/hcs"
	"github.com/isoagent/isoagent/monitor"
)

// autoDriver is the driver --driver auto picks: HCS on Windows, never the
// sim silently.
const autoDriver = driver.NameHCS

// openHCS opens the Host Compute Service driver after checking that this
// host and process can use it; the preflight error says what to fix.
func openHCS(o driverOptions) (driver.Driver, error) {
	if err := hcs.Preflight(); err != nil {
		return nil, fmt.Errorf("--driver hcs: this host cannot run containers yet:\n%w", err)
	}
	if o.hcsScratchGB < 0 {
		return nil, fmt.Errorf("--hcs-scratch-size %d: want a size in GB, or 0 to keep the size HCS makes", o.hcsScratchGB)
	}
	// hcsshim logs through logrus's standard logger.
	if o.logger != nil {
		hcs.RouteLogrus(logrus.StandardLogger(), o.logger.With("component", "hcsshim"))
	}
	opts := hcs.Options{Owner: o.owner, Logger: o.logger, StateDir: o.hcsStateDir, ScratchSize: int64(o.hcsScratchGB) << 30, CredentialSpecDir: o.credSpecDir, Secrets: o.secrets,
		Monitor: o.monitor, LogMaxSize: o.logMaxSize, LogMaxFiles: o.logMaxFiles}
	if o.hcsScratchGB == 0 {
		opts.ScratchSize = -1
	}
	programData := os.Getenv("ProgramData")
	if programData == "" {
		programData = `C:\ProgramData`
	}
	store := hcs.DockerStoreFor(programData)
	if o.dockerRoot != "" {
		store.Root = o.dockerRoot
	}
	opts.Images = store
	return hcs.New(opts), nil
}

// hcsMonitorRuntime is the monitor runtime of the hcs driver's runs.
func hcsMonitorRuntime() (monitor.Runtime, bool) { return hcs.MonitorRuntime{}, true }
