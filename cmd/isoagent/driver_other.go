//go:build !windows

package main

import (
	"errors"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/monitor"
)

// autoDriver is the driver --driver auto picks: the sim wherever HCS is
// absent.
const autoDriver = driver.NameSim

// openHCS opens the Host Compute Service driver, which exists only on
// Windows.
func openHCS(driverOptions) (driver.Driver, error) {
	return nil, errors.New("--driver hcs is Windows-only: this system has no Host Compute Service; use --driver sim")
}

// hcsMonitorRuntime is the monitor runtime of the hcs driver's runs,
// which exist only on Windows.
func hcsMonitorRuntime() (monitor.Runtime, bool) { return nil, false }
