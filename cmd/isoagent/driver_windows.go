//go:build windows

package main

import (
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/hcs"
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
	// hcsshim logs through logrus's standard logger.
	if o.logger != nil {
		hcs.RouteLogrus(logrus.StandardLogger(), o.logger.With("component", "hcsshim"))
	}
	opts := hcs.Options{Owner: o.owner, Logger: o.logger, StateDir: o.hcsStateDir}
	if o.dockerRoot != "" {
		opts.Images = hcs.DockerStore{Root: o.dockerRoot}
	}
	return hcs.New(opts), nil
}
