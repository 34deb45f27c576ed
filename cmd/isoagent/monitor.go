package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/monitor"
)

const monitorUsage = `usage: isoagent monitor --run-dir DIR

Holds one run of a container: starts its init process, writes its output
to the run's CRI log and records its exit code and time. The agent starts
it, one per run, and it outlives the agent; it is not meant to be run by
hand.
`

func runMonitor(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("monitor", monitorUsage, stderr)
	dir := fs.String("run-dir", "", "the run's folder, in the agent's state folder (required)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "isoagent monitor: --run-dir is required, and nothing else")
		return exitUsage
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg, err := monitor.ReadConfig(*dir)
	if err != nil {
		logger.Error("read the run's config", "err", err)
		fmt.Fprintf(stdout, "{\"error\":%q}\n", err.Error())
		return exitUsage
	}
	rt, err := monitorRuntime(cfg.Runtime)
	if err != nil {
		logger.Error("no runtime", "err", err)
		fmt.Fprintf(stdout, "{\"error\":%q}\n", err.Error())
		return exitUsage
	}
	if err := monitor.Run(context.Background(), *dir, rt, stdout, monitor.Options{Logger: logger}); err != nil {
		logger.Error("monitor", "err", err)
		return exitUsage
	}
	return exitOK
}

// monitorRuntime is the runtime a run's config names.
func monitorRuntime(name string) (monitor.Runtime, error) {
	switch name {
	case sim.RuntimeName:
		return sim.MonitorRuntime{}, nil
	case "hcs":
		if rt, ok := hcsMonitorRuntime(); ok {
			return rt, nil
		}
		return nil, fmt.Errorf("runtime %q: the hcs driver's runs need isoagent for Windows", name)
	}
	return nil, fmt.Errorf("runtime %q: this isoagent knows %q and, on Windows, \"hcs\"", name, sim.RuntimeName)
}

// monitorCommand is the command the drivers start a run's monitor with:
// this binary's monitor subcommand.
func monitorCommand() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the isoagent binary for the containers' monitors: %w", err)
	}
	return []string{exe, "monitor"}, nil
}
