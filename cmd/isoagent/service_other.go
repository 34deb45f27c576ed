//go:build !windows

package main

import (
	"errors"
	"io"
)

// errWindowsOnly is what `isoagent service` says on other systems.
var errWindowsOnly = errors.New("this command is Windows-only: it registers isoagent with the Windows Service Control Manager; on this system run `isoagent run` under your init system (systemd, launchd, ...)")

// serviceSupported reports that services are Windows-only.
func serviceSupported() error { return errWindowsOnly }

func openServiceManager(io.Writer) (serviceManager, error) { return nil, errWindowsOnly }

// runAsService reports that this process was not started as a Windows
// service: there are none here.
func runAsService(agentConfig, logFlags) (handled bool, code int) { return false, 0 }
