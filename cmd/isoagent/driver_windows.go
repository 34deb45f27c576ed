//go:build windows

package main

import (
	"errors"

	"github.com/isoagent/isoagent/driver"
)

// autoDriver is the driver --driver auto picks: HCS on Windows.
const autoDriver = driver.NameHCS

// openHCS opens the Host Compute Service driver.
func openHCS(driverOptions) (driver.Driver, error) {
	return nil, errors.New("--driver hcs: the HCS driver is not yet available in this build; use --driver sim")
}
