package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/isoagent/isoagent/containerlog"
	"github.com/isoagent/isoagent/driver"
)

const execUsage = `usage: isoagent exec [-i] [-t] NAME -- COMMAND [ARG...]

Runs COMMAND in running container NAME (HCS CreateProcess in its compute
system) with this terminal's standard output and error attached, and with
-i its standard input; -t gives it a console. Exits with the command's
exit code. An administrator's action on this host: no spec can ask for it.
`

func runExec(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("exec", execUsage, stderr)
	var drv driverOptions
	drv.register(fs)
	interactive := fs.Bool("i", false, "attach standard input")
	tty := fs.Bool("t", false, "give the process a console (Windows' console emulation: one output stream)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	drv.parsed(fs)
	rest := fs.Args()
	if len(rest) < 2 {
		fmt.Fprintln(stderr, "isoagent exec: want NAME -- COMMAND [ARG...]")
		return exitUsage
	}
	name, command := rest[0], rest[1:]
	if command[0] == "--" {
		command = command[1:]
	}
	if len(command) == 0 {
		fmt.Fprintln(stderr, "isoagent exec: want a command after NAME --")
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, _, err := openDriver(drv)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent exec: %v\n", err)
		return exitUsage
	}
	defer closeDriver(d)
	x, ok := d.(driver.Execer)
	if !ok {
		fmt.Fprintf(stderr, "isoagent exec: the %s driver runs no processes in containers\n", drv.name)
		return exitUsage
	}
	c, err := containerlog.Find(ctx, d, name)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent exec: %v\n", err)
		return exitProblem
	}
	p := driver.ExecProcess{Command: command, Stdout: stdout, Stderr: stderr, TTY: *tty}
	if *interactive {
		p.Stdin = stdin
	}
	code, err := x.Exec(ctx, c.ID, p)
	switch {
	case errors.Is(err, driver.ErrInvalidState):
		fmt.Fprintf(stderr, "isoagent exec: %s is not running (isoagent status shows its state)\n", name)
		return exitProblem
	case err != nil:
		fmt.Fprintf(stderr, "isoagent exec: %v\n", err)
		return exitUsage
	}
	return code
}
