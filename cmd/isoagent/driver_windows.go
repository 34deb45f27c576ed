//go:build windows

package main

import (
	"fmt"
	"os"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/hcs"
)

// autoDriver is the driver --driver auto picks: HCS on Windows, never the
// sim silently.
const autoDriver = driver.NameHCS

// Environment variables that move the hcs driver's folders, for unusual
// layouts and for the end-to-end run against the fake HCS. Docker's own
// data-root setting (daemon.json) is followed without them.
const (
	envStateDir   = "ISOAGENT_HCS_STATE_DIR" // default %ProgramData%\isoagent
	envDockerRoot = "ISOAGENT_DOCKER_ROOT"   // default Docker's data root
)

// openHCS opens the Host Compute Service driver after checking that this
// host and process can use it; the preflight error says what to fix.
func openHCS(o driverOptions) (driver.Driver, error) {
	if err := hcs.Preflight(); err != nil {
		return nil, fmt.Errorf("--driver hcs: this host cannot run containers yet:\n%w", err)
	}
	opts := hcs.Options{Owner: o.owner, Logger: o.logger, StateDir: os.Getenv(envStateDir)}
	if root := os.Getenv(envDockerRoot); root != "" {
		opts.Images = hcs.DockerStore{Root: root}
	}
	return hcs.New(opts), nil
}
