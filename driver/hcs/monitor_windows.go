//go:build windows

package hcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/Microsoft/hcsshim"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/monitor"
)

// RuntimeName is the monitor.Config Runtime of the hcs driver's runs.
const RuntimeName = "hcs"

// keepRuns is how many earlier runs of a container are kept besides the
// current one: the previous run, for `isoagent logs --previous`.
const keepRuns = 1

// monitorProcess is a run's Process in monitor.json: the init process's
// document. Its environment holds the values of the secrets the config
// gives it, as the process gets them; the run's folder is for
// administrators only, as the secrets the driver writes for mapped
// folders are.
type monitorProcess struct {
	Process *hcsshim.ProcessConfig `json:"process"`
}

// monitored reports whether the driver gives each run a monitor process
// (Options.Monitor).
func (d *Driver) monitored() bool { return len(d.monitor) > 0 }

// startMonitor creates the init process of the started compute system of
// rec through a monitor of its own, which holds its output and records its
// exit; it returns the monitor and the init process's PID.
func (d *Driver) startMonitor(ctx context.Context, rec *record, pc *hcsshim.ProcessConfig) (*monitor.Handle, int, error) {
	id := rec.Config.ID
	p, err := json.Marshal(monitorProcess{Process: pc})
	if err != nil {
		return nil, 0, err
	}
	cfg := monitor.Config{Name: rec.Config.Name, Runtime: RuntimeName, Process: p, LogMaxSize: d.logMaxSize, LogMaxFiles: d.logMaxFiles}
	dir, err := d.runs.NewRun(id, cfg, keepRuns)
	if err != nil {
		return nil, 0, fmt.Errorf("start %s: the run's folder: %w", id, err)
	}
	h, st, err := monitor.Start(ctx, d.monitor, dir)
	if err != nil {
		var se *monitor.StartError
		if errors.As(err, &se) {
			if class, ok := errorClasses[se.Class]; ok {
				return nil, 0, fmt.Errorf("start init process of %s: %w (%s)", id, class, se.Message)
			}
			return nil, 0, fmt.Errorf("start init process of %s: %s", id, se.Message)
		}
		return nil, 0, fmt.Errorf("start %s: the container's monitor: %w", id, err)
	}
	return h, st.PID, nil
}

// trackMonitor is track for a run a monitor holds: when the monitor has
// recorded the init process's exit, the exit code and time are the
// monitor's.
func (d *Driver) trackMonitor(id string, l *live, h *monitor.Handle) {
	d.follow(id, l, func() (int, time.Time, bool) {
		x, err := h.Wait(d.closing)
		switch {
		case d.closing.Err() != nil:
			return 0, time.Time{}, false
		case err != nil:
			d.log.Warn("the container's monitor ended without recording the exit of its init process (was it killed?); its exit code is unknown", "id", id, "run", h.Dir(), "err", err)
			return exitUnknown, time.Now().UTC(), true
		}
		return x.Code, x.At, true
	})
}

// adoptMonitored finds again the monitor of the current run of rec, which
// a previous driver started: it tracks it while it runs; when it has
// ended (the init process exited while no agent ran), the exit it
// recorded is the container's, and the compute system is shut down. It
// reports false when the run has no monitor (a run from before monitors
// were enabled), for adopt's own way.
func (d *Driver) adoptMonitored(rec *record) (bool, error) {
	id := rec.Config.ID
	if rec.Run == "" {
		return false, nil
	}
	h, err := monitor.Open(rec.Run)
	if err != nil {
		return true, err
	}
	if monitor.Alive(rec.Run) {
		c, err := hcsshim.OpenContainer(id)
		if err != nil {
			return true, hcsError("open", id, err)
		}
		d.trackMonitor(id, &live{c: c}, h)
		d.log.Info("adopted container", "id", id, "pid", rec.InitPID, "run", rec.Run)
		return true, nil
	}
	x, err := monitor.ReadExit(rec.Run)
	code, at := x.Code, x.At
	if errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("the container's monitor ended without recording the exit of its init process (was it killed?); its exit code is unknown", "id", id, "run", rec.Run)
		code, at = exitUnknown, time.Now().UTC()
	} else if err != nil {
		return true, err
	}
	d.log.Info("init process exited while no agent ran; its monitor recorded the exit", "id", id, "exitCode", code, "at", at)
	var errs []error
	if c, err := hcsshim.OpenContainer(id); err == nil {
		errs = append(errs, d.stopSystem(c, exitStopTimeout))
		c.Close()
	}
	errs = append(errs, d.recordExitAt(id, code, at), d.release(id))
	return true, errors.Join(errs...)
}

// Runs implements driver.RunKeeper: the folders of id's runs that
// monitors kept.
func (d *Driver) Runs(id string) ([]string, error) { return d.runs.Runs(id) }

var _ driver.RunKeeper = (*Driver)(nil)

// errorClasses names the driver error classes for a monitor's handshake,
// as driver/sim names them.
var errorClasses = map[string]error{
	"not-found":           driver.ErrNotFound,
	"invalid-state":       driver.ErrInvalidState,
	"version-mismatch":    driver.ErrVersionMismatch,
	"host-path-not-found": driver.ErrHostPathNotFound,
	"not-supported":       driver.ErrNotSupported,
	"unavailable":         driver.ErrUnavailable,
	"invalid-config":      driver.ErrInvalidConfig,
}

// MonitorRuntime is the monitor.Runtime of the hcs driver's runs: it
// creates the init process in the run's compute system with stdout and
// stderr pipes, which the monitor drains, and waits for it with a process
// handle of its own, so that its exit code is known whether or not an
// agent runs. It is what `isoagent monitor` runs for the hcs driver.
type MonitorRuntime struct{}

var _ monitor.Runtime = MonitorRuntime{}

// Start implements monitor.Runtime.
func (MonitorRuntime) Start(ctx context.Context, cfg monitor.Config) (monitor.Process, error) {
	var mp monitorProcess
	if err := json.Unmarshal(cfg.Process, &mp); err != nil || mp.Process == nil {
		return nil, fmt.Errorf("hcs process of %s: %v", cfg.ID, err)
	}
	pc := *mp.Process
	pc.CreateStdInPipe, pc.CreateStdOutPipe, pc.CreateStdErrPipe = false, true, true
	c, err := hcsshim.OpenContainer(cfg.ID)
	if err != nil {
		return nil, classedError{hcsError("open", cfg.ID, err)}
	}
	p, err := c.CreateProcess(&pc)
	if err != nil {
		c.Close()
		return nil, classedError{callError(opProcess, "start init process of", cfg.ID, err)}
	}
	_, stdout, stderr, err := p.Stdio()
	if err != nil {
		p.Kill()
		p.Close()
		c.Close()
		return nil, classedError{hcsError("the output of the init process of", cfg.ID, err)}
	}
	return &monitoredProcess{c: c, p: p, stdout: stdout, stderr: stderr}, nil
}

// classedError names its driver error class for the monitor's handshake.
type classedError struct{ err error }

func (e classedError) Error() string { return e.err.Error() }
func (e classedError) Unwrap() error { return e.err }
func (e classedError) ErrorClass() string {
	for name, class := range errorClasses {
		if errors.Is(e.err, class) {
			return name
		}
	}
	return ""
}

// monitoredProcess is an init process a monitor holds.
type monitoredProcess struct {
	c              hcsshim.Container
	p              hcsshim.Process
	stdout, stderr io.ReadCloser
}

func (m *monitoredProcess) PID() int          { return m.p.Pid() }
func (m *monitoredProcess) Stdout() io.Reader { return m.stdout }
func (m *monitoredProcess) Stderr() io.Reader { return m.stderr }

// Wait implements monitor.Process. The handles are closed once the
// process has exited: a stopped compute system lasts until its last
// handle goes.
func (m *monitoredProcess) Wait(ctx context.Context) (int, time.Time, error) {
	done := make(chan error, 1)
	go func() { done <- m.p.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		return 0, time.Time{}, ctx.Err()
	}
	at := time.Now()
	defer m.c.Close()
	defer m.p.Close()
	if err != nil {
		return 0, at, fmt.Errorf("wait for the init process: %w", err)
	}
	code, err := m.p.ExitCode()
	if err != nil {
		return 0, at, fmt.Errorf("exit code of the init process: %w", err)
	}
	return code, at, nil
}
