package driver

import (
	"context"
	"io"
	"net/netip"
)

// Optional abilities of a driver, each its own small interface; the
// engine and the commands ask for them with a type assertion.

// Watcher is a Driver that reports the exits of its containers' init
// processes as they happen, so that the engine need not wait for its next
// relist to learn of them.
type Watcher interface {
	// Watch calls exited with each container of the driver's owner whose
	// init process has exited, as the driver sees it just after (State
	// exited, ExitCode, FinishedAt), until ctx ends, and then returns
	// nil. exited must not block. A run's exit is delivered before a
	// Start of the container's next run returns, so an exit reported
	// late never stands for a newer run. Events are hints: a driver may
	// miss some (List is the truth) and may deliver one twice.
	Watch(ctx context.Context, exited func(Container)) error
}

// Execer is a Driver that runs further processes in running containers:
// `isoagent exec`, an administrator's action on the host, never something
// a spec can ask for.
type Execer interface {
	// Exec runs p in running container id and returns its exit code once
	// it has exited and its output is copied. It wraps ErrNotFound for no
	// such container and ErrInvalidState for one that does not run; ctx
	// ends it (the process is terminated).
	Exec(ctx context.Context, id string, p ExecProcess) (int, error)
}

// ExecProcess is a process to run in a container.
type ExecProcess struct {
	Command []string
	// Stdin, when not nil, is copied to the process's standard input,
	// which is closed at its end; nil gives the process none.
	Stdin io.Reader
	// Stdout and Stderr receive its output; nil discards it. With TTY,
	// Windows' console emulation sends both to Stdout.
	Stdout, Stderr io.Writer
	// TTY runs the process with a console (HCS's EmulateConsole) of
	// ConsoleSize (height, width; zero for the default).
	TTY         bool
	ConsoleSize [2]uint
	// WorkingDir, User and Env default to the container's.
	WorkingDir string
	User       string
	Env        map[string]string
}

// RunKeeper is a Driver that keeps its containers' output and exits: a
// folder per run of a container, in package monitor's layout (the CRI log
// and the exit record of the run's monitor).
type RunKeeper interface {
	// Runs returns the folders of container id's runs that are kept,
	// oldest first: none for a container that never started.
	Runs(id string) ([]string, error)
}

// Addresser is a Driver that tells where the host reaches a port of a
// running container directly: at the address of the container's network
// endpoint, never through a host port mapping, so a health probe needs no
// published port and no policy exception.
type Addresser interface {
	// Address returns the address and port at which the host reaches
	// TCP port port of running container id. It wraps ErrNotFound for no
	// such container and ErrInvalidState for one that does not run or
	// has no network endpoint (network mode none). What listens there is
	// the container's business: a dial may be refused.
	Address(ctx context.Context, id string, port int) (netip.AddrPort, error)
}

// ConfigReader is a Driver that keeps the config each of its containers
// was created with, as it keeps their records, and gives it back: what a
// failed stop-first rollout brings back once the old container is gone,
// even when the agent that created it has restarted since; and what
// `isoagent plan` compares field by field to say what a recreate changes.
type ConfigReader interface {
	// Config returns the config container id was created with. It wraps
	// ErrNotFound when there is no such container of the driver's owner.
	Config(ctx context.Context, id string) (Config, error)
}

// Inspector is a Driver that reads one container without listing the
// host, as `docker inspect` does: what the engine learns just after a
// start (the init PID or utility VM, a run that ended at once) costs one
// container's look, not one of every container on the host.
type Inspector interface {
	// Inspect returns container id as List shows it. It wraps ErrNotFound
	// when there is no such container of the driver's owner.
	Inspect(ctx context.Context, id string) (Container, error)
}
