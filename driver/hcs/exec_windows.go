//go:build windows

package hcs

import (
	"context"
	"fmt"
	"io"
	"maps"
	"sync"
	"time"

	"github.com/Microsoft/hcsshim"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.Execer = (*Driver)(nil)

// execKillTimeout bounds the wait for a process Exec terminated (its
// context ended) to be reported exited.
const execKillTimeout = 30 * time.Second

// Exec implements driver.Execer: HCS CreateProcess in the container's
// compute system, as `docker exec` does on Windows (moby's libcontainerd
// Exec), with pipes for the streams p asks for, in the init process's
// working folder, environment and user unless p names others. It holds
// a compute system handle of its own, so it does not wait on the
// container's operations.
func (d *Driver) Exec(ctx context.Context, id string, p driver.ExecProcess) (int, error) {
	if len(p.Command) == 0 {
		return 0, fmt.Errorf("exec in %s: no command: %w", id, driver.ErrInvalidConfig)
	}
	rec, err := d.getRecord(id)
	switch {
	case err != nil:
		return 0, err
	case rec == nil:
		return 0, fmt.Errorf("exec in %s: %w", id, driver.ErrNotFound)
	case !rec.Started || rec.Exited:
		return 0, fmt.Errorf("exec in %s: the container does not run: %w", id, driver.ErrInvalidState)
	}
	pc, err := d.execConfig(rec, p)
	if err != nil {
		return 0, fmt.Errorf("exec in %s: %w", id, err)
	}
	c, err := hcsshim.OpenContainer(id)
	if hcsshim.IsNotExist(inner(err)) {
		return 0, fmt.Errorf("exec in %s: the compute system is gone: %w", id, driver.ErrInvalidState)
	}
	if err != nil {
		return 0, hcsError("exec in", id, err)
	}
	defer c.Close()
	proc, err := c.CreateProcess(pc)
	if err != nil {
		return 0, callError(opProcess, "exec in", id, err)
	}
	defer proc.Close()
	stdin, stdout, stderr, err := proc.Stdio()
	if err != nil {
		proc.Kill()
		return 0, hcsError("exec in", id, err)
	}
	var copies sync.WaitGroup
	copyOut := func(w io.Writer, r io.ReadCloser) {
		if r == nil {
			return
		}
		if w == nil {
			w = io.Discard
		}
		copies.Go(func() {
			defer r.Close()
			io.Copy(w, r)
		})
	}
	copyOut(p.Stdout, stdout)
	copyOut(p.Stderr, stderr)
	if stdin != nil {
		// Not waited for: the reader (a terminal) may never end, and
		// the process need not read all of it.
		go func() {
			io.Copy(stdin, p.Stdin)
			proc.CloseStdin()
			stdin.Close()
		}()
	}
	exited := make(chan error, 1)
	go func() { exited <- proc.Wait() }()
	var werr error
	select {
	case werr = <-exited:
	case <-ctx.Done():
		if err := proc.Kill(); err != nil && !stopped(err) {
			d.log.Warn("terminate an exec process", "id", id, "pid", proc.Pid(), "err", err)
		}
		select {
		case <-exited:
		case <-time.After(execKillTimeout):
		}
		return 1, fmt.Errorf("exec in %s: %w", id, ctx.Err())
	}
	// The output ends once the process has exited and HCS closed its
	// end of the pipes.
	copies.Wait()
	if werr != nil {
		return 0, hcsError("wait for the exec process in", id, werr)
	}
	code, err := proc.ExitCode()
	if err != nil {
		return 0, hcsError("exit code of the exec process in", id, err)
	}
	return code, nil
}

// execConfig is the process document of p in the container of rec: the
// init process's working folder, user and environment (the secrets it
// was given included) unless p sets them, its variables over the
// container's.
func (d *Driver) execConfig(rec *record, p driver.ExecProcess) (*hcsshim.ProcessConfig, error) {
	init := processConfig(rec)
	env, err := d.secretEnv(rec, init.Environment)
	if err != nil {
		return nil, err
	}
	env = maps.Clone(env)
	if env == nil && len(p.Env) > 0 {
		env = map[string]string{}
	}
	for k, v := range p.Env {
		setFold(env, k, v)
	}
	pc := &hcsshim.ProcessConfig{
		CommandLine:      commandLine(p.Command),
		WorkingDirectory: init.WorkingDirectory,
		User:             init.User,
		Environment:      env,
		CreateStdInPipe:  p.Stdin != nil,
		CreateStdOutPipe: true,
		CreateStdErrPipe: !p.TTY,
		EmulateConsole:   p.TTY,
	}
	if p.WorkingDir != "" {
		pc.WorkingDirectory = p.WorkingDir
	}
	if p.User != "" {
		pc.User = p.User
	}
	if p.TTY && p.ConsoleSize != [2]uint{} {
		pc.ConsoleSize = p.ConsoleSize
	}
	return pc, nil
}
