//go:build windows

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// Timing of the service's life, as the Service Control Manager sees it.
const (
	// serviceStartHint is how long the agent may take to open its driver
	// and describe the host before it reports Running.
	serviceStartHint = 30 * time.Second
	// serviceStopBound is how long a stopping agent waits for in-flight
	// driver operations before it exits anyway. A plain stop leaves the
	// containers running, so an abandoned operation is redone by the next
	// start's reconcile.
	serviceStopBound = 30 * time.Second
	// servicePreShutdownTimeout is how long Windows waits, when it shuts
	// down, for the service to stop its containers (install registers it;
	// Windows' own default is shorter); serviceShutdownBound is how long
	// the service gives them, inside that, after the agent has stopped.
	servicePreShutdownTimeout = 3 * time.Minute
	serviceShutdownBound      = servicePreShutdownTimeout - serviceStopBound - 15*time.Second
	// serviceStopTick is how often StopPending's CheckPoint advances while
	// the agent finishes; the wait hint says how long until the next one.
	serviceStopTick = 2 * time.Second
	serviceStopHint = 3 * serviceStopTick
)

// recoveryActions restart a failed service after 5 s, 30 s and then every
// minute; a day without failure starts the count again.
func recoveryActions() []mgr.RecoveryAction {
	return []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 60 * time.Second},
	}
}

const recoveryResetSeconds = 24 * 60 * 60

// isWindowsService reports whether the Service Control Manager started
// this process. Tests under Wine replace it: Wine runs every process,
// services.exe included, in session 1, so svc.IsWindowsService, which
// looks for a session-0 services.exe parent, always says no there.
var isWindowsService = svc.IsWindowsService

func serviceSupported() error { return nil }

// runAsService is runRun's hook: when the Service Control Manager started
// this process it runs the agent as the service, logging to the Event Log
// (and --log-file), and returns handled. Otherwise it does nothing.
func runAsService(cfg agentConfig, logs logFlags) (handled bool, code int) {
	if ok, err := isWindowsService(); err != nil || !ok {
		return false, 0
	}
	logger, closeLogs := serviceLogger(logs)
	defer closeLogs()
	h := &serviceHandler{
		start:    func(ctx context.Context) (runner, error) { return openAgent(ctx, cfg, logger) },
		log:      logger,
		stop:     serviceStopBound,
		shutdown: serviceShutdownBound,
	}
	if err := svc.Run(serviceName, h); err != nil {
		logger.Error("cannot run as a Windows service", "err", err)
		return true, exitUsage
	}
	return true, exitOK
}

// serviceLogger returns the service's logger: the Event Log and, when
// given, --log-file. A service has no console. What cannot be opened is
// reported through what can.
func serviceLogger(logs logFlags) (*slog.Logger, func()) {
	var problems []error
	level, err := logs.slogLevel()
	if err != nil {
		problems = append(problems, err)
		level = slog.LevelInfo
	}
	var handlers []slog.Handler
	closeEvents := func() {}
	if el, err := eventlog.Open(serviceName); err != nil {
		problems = append(problems, fmt.Errorf("open the Event Log source %s: %w", serviceName, err))
	} else {
		handlers = append(handlers, newEventHandler(el, level))
		closeEvents = func() { el.Close() }
	}
	logger, closeFile, err := logs.open(nil, handlers...)
	if err != nil {
		problems = append(problems, err)
		logs.file = ""
		logger, closeFile, _ = logs.open(nil, handlers...)
	}
	for _, p := range problems {
		logger.Warn("logging is not as configured", "err", p)
	}
	return logger, func() { closeFile(); closeEvents() }
}

// runner is the agent as the service handler sees it.
type runner interface {
	Run(ctx context.Context) error
}

// containerStopper is a runner that can stop its containers once it has
// stopped, for a system shutdown.
type containerStopper interface {
	StopContainers(ctx context.Context) error
}

// A runner that is also an io.Closer (the agent: its driver's handles) is
// closed once it has stopped, and after its containers were stopped.

// serviceHandler runs the agent under the Service Control Manager: it
// reports StartPending while the agent opens its driver, Running while it
// runs, and StopPending with advancing checkpoints while it finishes.
//
// A stop (an upgrade, an operator) leaves the containers running, for the
// next start to adopt. A system shutdown (pre-shutdown, then shutdown)
// stops them, each with its stopTimeout, once the agent has stopped:
// otherwise Windows ends them without their grace.
type serviceHandler struct {
	start    func(ctx context.Context) (runner, error)
	log      *slog.Logger
	stop     time.Duration // bound on finishing in-flight work after a stop
	shutdown time.Duration // bound on stopping the containers at a system shutdown
}

var _ svc.Handler = (*serviceHandler)(nil)

// Service-specific exit codes. A non-zero one tells the Service Control
// Manager the service failed, so its recovery actions restart it.
const (
	serviceExitStartFailed = 2 // the agent could not start (driver, flags)
	serviceExitFailed      = 1 // the agent stopped without being asked
)

func (h *serviceHandler) Execute(_ []string, reqs <-chan svc.ChangeRequest, status chan<- svc.Status) (svcSpecific bool, exitCode uint32) {
	status <- svc.Status{State: svc.StartPending, WaitHint: uint32(serviceStartHint.Milliseconds())}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := h.start(ctx)
	if err != nil {
		h.log.Error("cannot start", "err", err)
		return true, serviceExitStartFailed
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	running := svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown | svc.AcceptPreShutdown}
	status <- running
	h.log.Info("running as the Windows service " + serviceName)

	for {
		select {
		case err := <-done:
			h.log.Error("the agent stopped without being asked; the service manager restarts it", "err", err)
			h.close(a)
			return true, serviceExitFailed
		case r := <-reqs:
			switch r.Cmd {
			case svc.Interrogate:
				status <- r.CurrentStatus
			case svc.Stop, svc.Shutdown, svc.PreShutdown:
				if h.finish(r.Cmd, a, cancel, done, reqs, status) {
					h.close(a)
				}
				// A stop that was asked for is never a failure, whatever
				// the agent said on the way out: a non-zero code would
				// make the service manager restart it.
				return false, 0
			}
		}
	}
}

// finish stops the agent: it reports StopPending, cancels the agent and
// waits, bounded by h.stop, for it to finish in-flight driver operations,
// advancing the checkpoint so the service manager knows it is alive. At a
// system shutdown it then stops the containers, bounded by h.shutdown. It
// reports whether the agent has stopped, and its containers too when they
// were to be stopped, so that nothing uses the agent any more.
func (h *serviceHandler) finish(cmd svc.Cmd, a runner, cancel context.CancelFunc, done <-chan error, reqs <-chan svc.ChangeRequest, status chan<- svc.Status) bool {
	shutdown := cmd == svc.Shutdown || cmd == svc.PreShutdown
	stopper, canStop := a.(containerStopper)
	reason, after := "stop", "containers are left running"
	if shutdown {
		reason, after = "system shutdown", "its containers are stopped next"
		if !canStop {
			after = "containers are left running"
		}
	}
	pending := svc.Status{State: svc.StopPending, CheckPoint: 1, WaitHint: uint32(serviceStopHint.Milliseconds())}
	status <- pending
	h.log.Info("stopping; "+after, "reason", reason)
	cancel()
	// wait waits for c, bounded by d, advancing the checkpoint.
	wait := func(c <-chan error, d time.Duration) (bool, error) {
		bound := time.NewTimer(d)
		defer bound.Stop()
		tick := time.NewTicker(serviceStopTick)
		defer tick.Stop()
		for {
			select {
			case err := <-c:
				return true, err
			case <-bound.C:
				return false, nil
			case <-tick.C:
				pending.CheckPoint++
				status <- pending
			case r := <-reqs:
				if r.Cmd == svc.Interrogate {
					status <- pending
				}
			}
		}
	}
	ok, err := wait(done, h.stop)
	switch {
	case !ok:
		h.log.Warn("in-flight driver operations did not finish in time; exiting anyway, the next start picks them up", "bound", h.stop)
		return false
	case err != nil:
		h.log.Error("stopped with an error", "err", err)
	case !shutdown || !canStop:
		h.log.Info("isoagent stopped; containers are left running")
	}
	if !shutdown || !canStop {
		return true
	}
	// The engine has stopped, so nothing starts a container again.
	ctx, stopCancel := context.WithTimeout(context.Background(), h.shutdown)
	defer stopCancel()
	stopped := make(chan error, 1)
	go func() { stopped <- stopper.StopContainers(ctx) }()
	switch ok, err := wait(stopped, h.shutdown); {
	case !ok:
		stopCancel()
		h.log.Warn("the containers did not all stop in time; Windows ends the rest", "bound", h.shutdown)
		return false
	case err != nil:
		h.log.Error("stopping the containers for the system shutdown", "err", err)
	default:
		h.log.Info("isoagent stopped; its containers are stopped for the system shutdown")
	}
	return true
}

// close closes a runner that is an io.Closer.
func (h *serviceHandler) close(a runner) {
	if c, ok := a.(io.Closer); ok {
		if err := c.Close(); err != nil {
			h.log.Warn("cannot release the driver; the containers keep running", "err", err)
		}
	}
}

// scManager is the Service Control Manager.
type scManager struct {
	m    *mgr.Mgr
	warn io.Writer
}

var _ serviceManager = (*scManager)(nil)

func openServiceManager(warn io.Writer) (serviceManager, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, serviceError("connect to the service manager", err)
	}
	return &scManager{m: m, warn: warn}, nil
}

func (m *scManager) Close() error { return m.m.Disconnect() }

// serviceError wraps err with op and, for the errors an operator can fix,
// says how.
func serviceError(op string, err error) error {
	switch {
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return fmt.Errorf("%s: %w: managing services needs an administrator; run this from an elevated PowerShell (Run as administrator)", op, err)
	case errors.Is(err, windows.ERROR_SERVICE_EXISTS):
		return fmt.Errorf("%s: %w: the %s service is already installed; run `isoagent service uninstall` first, or `isoagent service status` to see how it is set up", op, err, serviceName)
	case errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST):
		return fmt.Errorf("%s: %w: the %s service is not installed; install it with `isoagent service install --dir DIR [run flags...]`", op, err, serviceName)
	case errors.Is(err, windows.ERROR_SERVICE_MARKED_FOR_DELETE):
		return fmt.Errorf("%s: %w: the old %s service is still being removed; close the Services console and Event Viewer (they hold it open) and try again", op, err, serviceName)
	case errors.Is(err, windows.ERROR_SERVICE_DISABLED):
		return fmt.Errorf("%s: %w: enable it with `Set-Service %s -StartupType Automatic`", op, err, serviceName)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func (m *scManager) open() (*mgr.Service, error) {
	s, err := m.m.OpenService(serviceName)
	if err != nil {
		return nil, serviceError("open the "+serviceName+" service", err)
	}
	return s, nil
}

func (m *scManager) warnf(format string, args ...any) {
	fmt.Fprintf(m.warn, "isoagent service: warning: "+format+"\n", args...)
}

func (m *scManager) Install(sp serviceSpec) error {
	s, err := m.m.CreateService(serviceName, sp.Exe, mgr.Config{
		StartType:    mgr.StartAutomatic,
		ErrorControl: mgr.ErrorNormal,
		DisplayName:  serviceDisplayName,
		Description:  serviceDescription,
		Dependencies: sp.Dependencies,
		// ServiceStartName "" is LocalSystem: HCS and HNS need an
		// administrator, and layer import needs backup and restore rights.
	}, sp.Args...)
	if err != nil {
		return serviceError("register the "+serviceName+" service", err)
	}
	defer s.Close()
	undo := func(err error) error {
		if derr := s.Delete(); derr != nil {
			return fmt.Errorf("%w (and removing the half-installed service failed: %v)", err, derr)
		}
		return err
	}
	// Delayed start is set on its own, not through mgr.Config, so that a
	// service manager without it (Wine's) still gets a working service.
	if err := setDelayedAutoStart(s); errors.Is(err, windows.ERROR_INVALID_LEVEL) {
		m.warnf("this system's service manager has no delayed automatic start; the service starts automatically at boot, without the delay")
	} else if err != nil {
		return undo(serviceError("set delayed automatic start", err))
	}
	// Windows waits this long for the containers at a system shutdown.
	if err := setPreShutdownTimeout(s, servicePreShutdownTimeout); errors.Is(err, windows.ERROR_INVALID_LEVEL) {
		m.warnf("this system's service manager has no pre-shutdown timeout; at a system shutdown the containers may get less than their stopTimeout")
	} else if err != nil {
		return undo(serviceError("set the pre-shutdown timeout", err))
	}
	if err := s.SetRecoveryActions(recoveryActions(), recoveryResetSeconds); err != nil {
		return undo(serviceError("set the recovery actions", err))
	}
	// Without this, an agent that stops on its own and reports an error
	// exit code would not be restarted: only crashes would.
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); errors.Is(err, windows.ERROR_INVALID_LEVEL) {
		m.warnf("this system's service manager cannot restart a service that stopped with an error, only one that crashed")
	} else if err != nil {
		return undo(serviceError("set recovery on errors", err))
	}
	if err := installEventSource(); err != nil {
		return undo(err)
	}
	for _, d := range sp.Dependencies {
		ds, err := m.m.OpenService(d)
		if err != nil {
			m.warnf("the %s service it depends on is not here (%v): enable the Containers feature (Install-WindowsFeature Containers, then restart); until then the service cannot start", d, err)
			continue
		}
		ds.Close()
	}
	return nil
}

// setPreShutdownTimeout sets how long Windows waits for the service at a
// system shutdown (SERVICE_PRESHUTDOWN_INFO; x/sys/windows does not
// define it).
func setPreShutdownTimeout(s *mgr.Service, d time.Duration) error {
	info := struct{ PreshutdownTimeout uint32 }{uint32(d.Milliseconds())}
	return windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_PRESHUTDOWN_INFO, (*byte)(unsafe.Pointer(&info)))
}

func setDelayedAutoStart(s *mgr.Service) error {
	info := windows.SERVICE_DELAYED_AUTO_START_INFO{IsDelayedAutoStartUp: 1}
	return windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&info)))
}

const eventSourceKey = `SYSTEM\CurrentControlSet\Services\EventLog\Application\` + serviceName

// installEventSource registers the Event Log source, keeping one an
// earlier install left.
func installEventSource() error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, eventSourceKey, registry.QUERY_VALUE)
	if err == nil {
		k.Close()
		return nil
	}
	if err := eventlog.InstallAsEventCreate(serviceName, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil {
		return serviceError("install the Event Log source "+serviceName, err)
	}
	return nil
}

func (m *scManager) Uninstall(ctx context.Context) error {
	s, err := m.open()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := stopService(ctx, s); err != nil {
		return err
	}
	if err := s.Delete(); err != nil {
		return serviceError("remove the "+serviceName+" service", err)
	}
	if err := eventlog.Remove(serviceName); err != nil && !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return serviceError("remove the Event Log source "+serviceName, err)
	}
	return nil
}

func (m *scManager) Start(ctx context.Context) error {
	s, err := m.open()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Start(); err != nil && !errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
		return serviceError("start the "+serviceName+" service", err)
	}
	_, err = waitState(ctx, s, svc.Running)
	return err
}

func (m *scManager) Stop(ctx context.Context) error {
	s, err := m.open()
	if err != nil {
		return err
	}
	defer s.Close()
	return stopService(ctx, s)
}

// stopService asks s to stop, unless it is stopped or stopping, and waits
// until it has.
func stopService(ctx context.Context, s *mgr.Service) error {
	st, err := s.Query()
	if err != nil {
		return serviceError("query the "+serviceName+" service", err)
	}
	switch st.State {
	case svc.Stopped:
		return nil
	case svc.StopPending:
	default:
		if _, err := s.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
			return serviceError("stop the "+serviceName+" service", err)
		}
	}
	_, err = waitState(ctx, s, svc.Stopped)
	return err
}

// waitState polls s until it is in state want. Waiting for Running fails
// at once when the service stops instead.
func waitState(ctx context.Context, s *mgr.Service, want svc.State) (svc.Status, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := s.Query()
		if err != nil {
			return st, serviceError("query the "+serviceName+" service", err)
		}
		if st.State == want {
			return st, nil
		}
		if want == svc.Running && st.State == svc.Stopped {
			return st, fmt.Errorf("the %s service stopped instead of running (exit code %d); the reason is in the Event Log: Get-WinEvent -ProviderName %s -MaxEvents 20", serviceName, exitCodeOf(st), serviceName)
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("the %s service is still %s, not %s: %w", serviceName, stateName(st.State), stateName(want), ctx.Err())
		case <-tick.C:
		}
	}
}

func exitCodeOf(st svc.Status) uint32 {
	if st.Win32ExitCode == uint32(windows.ERROR_SERVICE_SPECIFIC_ERROR) {
		return st.ServiceSpecificExitCode
	}
	return st.Win32ExitCode
}

func stateName(s svc.State) string {
	switch s {
	case svc.Stopped:
		return "stopped"
	case svc.StartPending:
		return "start-pending"
	case svc.StopPending:
		return "stop-pending"
	case svc.Running:
		return "running"
	case svc.ContinuePending:
		return "continue-pending"
	case svc.PausePending:
		return "pause-pending"
	case svc.Paused:
		return "paused"
	}
	return fmt.Sprintf("state %d", s)
}

func (m *scManager) Status() (serviceStatus, error) {
	s, err := m.open()
	if err != nil {
		return serviceStatus{}, err
	}
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return serviceStatus{}, serviceError("query the "+serviceName+" service", err)
	}
	out := serviceStatus{State: stateName(st.State), PID: st.ProcessId, ExitCode: exitCodeOf(st)}
	if out.ExitCode == uint32(windows.ERROR_SERVICE_NEVER_STARTED) {
		out.ExitCode = 0 // no run, no exit code worth showing
	}
	c, err := serviceConfig(s)
	if err != nil {
		return serviceStatus{}, serviceError("read the "+serviceName+" service's configuration", err)
	}
	out.Command = c.BinaryPathName
	out.Dependencies = c.Dependencies
	out.Account = c.ServiceStartName
	if out.Account == "" {
		out.Account = "LocalSystem"
	}
	switch c.StartType {
	case mgr.StartAutomatic:
		out.StartType = "automatic"
		if c.DelayedAutoStart {
			out.StartType += " (delayed)"
		}
	case mgr.StartManual:
		out.StartType = "manual"
	case mgr.StartDisabled:
		out.StartType = "disabled"
	default:
		out.StartType = fmt.Sprintf("start type %d", c.StartType)
	}
	out.Recovery = recoveryText(s)
	return out, nil
}

// serviceConfig is s.Config, falling back to the basic configuration
// where the service manager lacks the extended queries (Wine's answers
// ERROR_INVALID_LEVEL to delayed start), and then leaving DelayedAutoStart
// false.
func serviceConfig(s *mgr.Service) (mgr.Config, error) {
	c, err := s.Config()
	if !errors.Is(err, windows.ERROR_INVALID_LEVEL) {
		return c, err
	}
	n := uint32(1024)
	for {
		b := make([]byte, n)
		p := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&b[0]))
		err := windows.QueryServiceConfig(s.Handle, p, n, &n)
		if errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) && n > uint32(len(b)) {
			continue
		}
		if err != nil {
			return mgr.Config{}, err
		}
		return mgr.Config{
			ServiceType:      p.ServiceType,
			StartType:        p.StartType,
			ErrorControl:     p.ErrorControl,
			BinaryPathName:   windows.UTF16PtrToString(p.BinaryPathName),
			Dependencies:     multiString(p.Dependencies),
			ServiceStartName: windows.UTF16PtrToString(p.ServiceStartName),
			DisplayName:      windows.UTF16PtrToString(p.DisplayName),
		}, nil
	}
}

// multiString splits a list of NUL-terminated strings ended by an empty
// one.
func multiString(p *uint16) []string {
	var out []string
	for p != nil && *p != 0 {
		s := windows.UTF16PtrToString(p)
		out = append(out, s)
		p = (*uint16)(unsafe.Add(unsafe.Pointer(p), (len(utf16.Encode([]rune(s)))+1)*2))
	}
	return out
}

// recoveryText describes the recovery actions, or returns "" where the
// service manager does not say.
func recoveryText(s *mgr.Service) string {
	actions, err := s.RecoveryActions()
	if err != nil || len(actions) == 0 {
		return ""
	}
	var parts []string
	for _, a := range actions {
		switch a.Type {
		case mgr.ServiceRestart:
			parts = append(parts, "restart after "+a.Delay.String())
		case mgr.NoAction:
			parts = append(parts, "nothing")
		default:
			parts = append(parts, fmt.Sprintf("action %d after %s", a.Type, a.Delay))
		}
	}
	text := strings.Join(parts, ", then ")
	if reset, err := s.ResetPeriod(); err == nil {
		text += fmt.Sprintf("; count reset after %s without failure", time.Duration(reset)*time.Second)
	}
	return text
}
