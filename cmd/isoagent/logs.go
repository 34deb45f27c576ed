package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/isoagent/isoagent/containerlog"
)

const logsUsage = `usage: isoagent logs NAME [-f] [--previous] [--tail N] [--since D] [--timestamps]

Prints what container NAME printed (its init process's stdout and stderr),
read from the driver's state folder on this host, or with --addr through
the running agent's HTTP API. --previous prints the run before the current
one, as after a crash and restart.
`

func runLogs(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("logs", logsUsage, stderr)
	var drv driverOptions
	drv.register(fs)
	follow := fs.Bool("f", false, "follow: print new output as it comes, until the run ends")
	fs.BoolVar(follow, "follow", false, "same as -f")
	previous := fs.Bool("previous", false, "print the run before the current one")
	tail := fs.Int("tail", 0, "print only the last `N` lines (0: all)")
	since := fs.Duration("since", 0, "print only lines of the last `D` (as 10m)")
	timestamps := fs.Bool("timestamps", false, "prefix each line with the time it was printed")
	var cf clientFlags
	cf.register(fs)
	fs.Lookup("addr").DefValue, cf.addr = "", ""
	fs.Lookup("addr").Usage = "read through the agent serving at this address (its --listen: host:port, or https://host:port) instead of the state folder"
	// NAME may come before the flags, as with docker logs.
	var name string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	drv.parsed(fs)
	rest := fs.Args()
	if name == "" && len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	if name == "" || len(rest) > 0 {
		fmt.Fprintln(stderr, "isoagent logs: want one container name (the spec's metadata.name)")
		return exitUsage
	}
	if *tail < 0 || *since < 0 {
		fmt.Fprintln(stderr, "isoagent logs: --tail and --since take positive values")
		return exitUsage
	}
	opts := containerlog.Options{Previous: *previous, Tail: *tail, Timestamps: *timestamps, Follow: *follow}
	if *since > 0 {
		opts.Since = time.Now().Add(-*since)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if cf.addr != "" {
		var client *agentClient
		if client, err = cf.open(); err != nil {
			fmt.Fprintf(stderr, "isoagent logs: %v\n", err)
			return exitUsage
		}
		err = containerlog.Fetch(ctx, stdout, client.http, client.base, name, opts)
	} else {
		err = localLogs(ctx, stdout, drv, name, opts)
	}
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return exitOK
	case errors.Is(err, containerlog.ErrUnknown), errors.Is(err, containerlog.ErrNeverStarted), errors.Is(err, containerlog.ErrNoPrevious):
		fmt.Fprintf(stderr, "isoagent logs: %v\n", err)
		return exitProblem
	}
	fmt.Fprintf(stderr, "isoagent logs: %v\n", err)
	return exitUsage
}

func localLogs(ctx context.Context, w io.Writer, o driverOptions, name string, opts containerlog.Options) error {
	d, _, err := openDriver(o)
	if err != nil {
		return err
	}
	defer closeDriver(d)
	return containerlog.Copy(ctx, w, d, name, opts)
}
