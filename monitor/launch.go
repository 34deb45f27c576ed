package monitor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// StartError is Start's error for an init process the runtime could not
// start; Class names the driver error class the runtime gave, if any.
type StartError struct {
	Message string
	Class   string
}

func (e *StartError) Error() string { return e.Message }

// A Handle is a monitor as the agent sees it: one it started, or one it
// found again.
type Handle struct {
	dir  string
	pid  int
	done chan struct{} // closed when a monitor this process started has exited; nil for one found again
}

// Dir returns the run's folder.
func (h *Handle) Dir() string { return h.dir }

// Start starts a monitor for the run in dir, making command (the isoagent
// binary and its "monitor" subcommand) run with "--run-dir dir", detached
// from this process (its own session on Unix; out of this process's job
// and console on Windows) so that it outlives it. It returns once the
// monitor has said whether the init process started.
//
// ctx ends Start only before the monitor is started: once it runs, it
// creates the init process whether or not anyone waits, so Start waits
// for what it says (a while, under Wine) rather than report a run as
// failed that goes on. An agent stopped in the middle of a start (the
// Windows service's stop) thus leaves the container running, its monitor
// found again by the next agent, instead of ending the run the monitor
// holds.
func Start(ctx context.Context, command []string, dir string) (*Handle, Started, error) {
	if len(command) == 0 {
		return nil, Started{}, errors.New("monitor: no command")
	}
	if err := ctx.Err(); err != nil {
		return nil, Started{}, fmt.Errorf("start the monitor: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(dir, logFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, Started{}, fmt.Errorf("monitor log: %w", err)
	}
	defer logf.Close()
	build := func(attr *syscall.SysProcAttr) (*exec.Cmd, io.ReadCloser, error) {
		cmd := exec.Command(command[0], append(command[1:], "--run-dir", dir)...)
		cmd.Stderr = logf
		cmd.SysProcAttr = attr
		out, err := cmd.StdoutPipe()
		return cmd, out, err
	}
	attr := detached()
	cmd, out, err := build(attr)
	if err != nil {
		return nil, Started{}, err
	}
	err = cmd.Start()
	if alt, ok := withoutBreakaway(attr, err); ok {
		out.Close()
		if cmd, out, err = build(alt); err != nil {
			return nil, Started{}, err
		}
		err = cmd.Start()
	}
	if err != nil {
		out.Close()
		return nil, Started{}, fmt.Errorf("start the monitor: %w", err)
	}
	h := &Handle{dir: dir, pid: cmd.Process.Pid, done: make(chan struct{})}
	type result struct {
		h   handshake
		err error
	}
	rc := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadBytes('\n')
		var r result
		if err == nil {
			err = json.Unmarshal(line, &r.h)
		}
		r.err = err
		rc <- r
		// The monitor is reaped by whoever is its parent when it ends:
		// this process while it runs. Wait closes the pipe, so it
		// comes after the read.
		cmd.Wait()
		close(h.done)
	}()
	// A monitor says at once whether its process started; one that says
	// nothing is not a monitor (a wrong command) or is stuck.
	hello := time.NewTimer(handshakeTimeout)
	defer hello.Stop()
	select {
	case <-hello.C:
		return h, Started{}, fmt.Errorf("the monitor %s said nothing within %s (see %s)", command[0], handshakeTimeout, filepath.Join(dir, logFile))
	case r := <-rc:
		switch {
		case r.err != nil:
			<-h.done
			return nil, Started{}, fmt.Errorf("the monitor ended before starting the init process (see %s): %w", filepath.Join(dir, logFile), r.err)
		case r.h.Error != "":
			<-h.done
			return nil, Started{}, &StartError{Message: r.h.Error, Class: r.h.Class}
		case r.h.Started == nil:
			return h, Started{}, errors.New("the monitor said nothing of the init process")
		}
		return h, *r.h.Started, nil
	}
}

// Open finds the monitor of the run in dir again, for a new agent: alive,
// or ended (Wait then returns at once).
func Open(dir string) (*Handle, error) {
	st, err := ReadStarted(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return &Handle{dir: dir, pid: st.MonitorPID}, nil
}

// Wait waits until the monitor has ended and returns the exit it
// recorded: ErrNoExit when it ended without (it was killed). ctx ends the
// wait.
func (h *Handle) Wait(ctx context.Context) (Exit, error) {
	if h.done != nil {
		select {
		case <-h.done:
		case <-ctx.Done():
			return Exit{}, ctx.Err()
		}
	} else if Alive(h.dir) {
		if h.pid == 0 {
			return Exit{}, fmt.Errorf("monitor of %s: no PID recorded", h.dir)
		}
		if err := waitPID(ctx, h.pid, func() bool { return !Alive(h.dir) }); err != nil {
			return Exit{}, err
		}
	}
	e, err := ReadExit(h.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Exit{}, ErrNoExit
	}
	return e, err
}

// handshakeTimeout bounds the wait for a monitor's first line.
const handshakeTimeout = 30 * time.Second

// waitPoll is how often waitPID looks where the system cannot tell a
// process's end as it happens.
const waitPoll = 100 * time.Millisecond
