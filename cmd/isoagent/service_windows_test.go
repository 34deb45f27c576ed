//go:build windows

package main

// These tests run as Windows binaries, on Linux under Wine:
//
//	scripts/go-test-wine -count=1 -run 'Service|Event|Log' ./cmd/isoagent/
//
// The lifecycle test registers this test binary as the isoagent service
// with the real install code, and the Service Control Manager starts it as
// `isoagent.test.exe run ...`, which TestMain hands to the real command
// dispatch, as main would.
//
// What Wine 8 cannot exercise, and why:
//   - Service detection: Wine runs every process, services.exe included,
//     in session 1, so svc.IsWindowsService (a session-0 services.exe
//     parent) says no. TestMain stands in for it in the service process.
//   - Delayed automatic start and "restart on non-crash failures": Wine's
//     ChangeServiceConfig2 answers ERROR_INVALID_LEVEL for both; install
//     warns and carries on, and the test checks that it warns. Wine cannot
//     read recovery actions back either, so status shows none there.
//   - Recovery itself: Wine's service manager does not restart a failed
//     service, so restart-after-failure is not run; the handler test pins
//     the non-zero exit code that makes Windows restart it.
//   - Dependencies: Wine starts a service whose dependencies (vmcompute,
//     hns) do not exist, and its QueryServiceConfig leaves them out; the
//     test reads them from the registry: registered, not enforced.
//   - Not an administrator: Wine's user is always an elevated
//     administrator; the ERROR_ACCESS_DENIED message is tested on its own.
//   - System shutdown: only Windows sends it, at shutdown; the handler
//     test sends it to the handler directly.
//   - Reading the Event Log: Wine's ReportEvent accepts a record and drops
//     it (into its debug channel), so writes are checked for success and the
//     text and type mapping is tested with a recorder (logging_test.go).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/monitor"
)

func TestMain(m *testing.M) {
	// Only the Service Control Manager starts this binary with "run": it is
	// the service the lifecycle test installed.
	if len(os.Args) > 1 && os.Args[1] == "run" {
		isWindowsService = func() (bool, error) { return true, nil }
		os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
	}
	// The service starts this binary (its own executable) as the monitor
	// of each container run.
	if len(os.Args) > 1 && os.Args[1] == "monitor" {
		os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// runnerFunc makes a function a runner.
type runnerFunc func(ctx context.Context) error

func (f runnerFunc) Run(ctx context.Context) error { return f(ctx) }

type executeResult struct {
	svcSpecific bool
	code        uint32
}

// execute runs h.Execute as the svc package would, with a status channel
// big enough never to block, and returns the request channel, the status
// channel and the result.
func execute(h *serviceHandler) (chan<- svc.ChangeRequest, <-chan svc.Status, <-chan executeResult) {
	reqs := make(chan svc.ChangeRequest)
	status := make(chan svc.Status, 100)
	done := make(chan executeResult, 1)
	go func() {
		ss, code := h.Execute(nil, reqs, status)
		done <- executeResult{ss, code}
	}()
	return reqs, status, done
}

func drain(status <-chan svc.Status) []svc.Status {
	var out []svc.Status
	for {
		select {
		case s := <-status:
			out = append(out, s)
		default:
			return out
		}
	}
}

var discardLogger = slog.New(slog.DiscardHandler)

func TestServiceHandlerReportsStatesAndStopsTheAgent(t *testing.T) {
	for _, cmd := range []svc.Cmd{svc.Stop, svc.Shutdown} {
		t.Run(map[svc.Cmd]string{svc.Stop: "stop", svc.Shutdown: "shutdown"}[cmd], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cancelled := false
				h := &serviceHandler{
					start: func(context.Context) (runner, error) {
						return runnerFunc(func(ctx context.Context) error {
							<-ctx.Done()
							cancelled = true
							return nil
						}), nil
					},
					log:  discardLogger,
					stop: serviceStopBound,
				}
				reqs, status, done := execute(h)
				running := svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown | svc.AcceptPreShutdown}
				reqs <- svc.ChangeRequest{Cmd: svc.Interrogate, CurrentStatus: running}
				reqs <- svc.ChangeRequest{Cmd: cmd, CurrentStatus: running}
				res := <-done

				if res != (executeResult{false, 0}) {
					t.Errorf("Execute = %+v; a requested stop must exit 0, or the service manager restarts the agent", res)
				}
				if !cancelled {
					t.Error("the agent's context was not cancelled")
				}
				want := []svc.Status{
					{State: svc.StartPending, WaitHint: uint32(serviceStartHint.Milliseconds())},
					running,
					running, // the answer to Interrogate
					{State: svc.StopPending, CheckPoint: 1, WaitHint: uint32(serviceStopHint.Milliseconds())},
				}
				if got := drain(status); !slices.Equal(got, want) {
					t.Errorf("statuses:\n got %+v\nwant %+v", got, want)
				}
			})
		})
	}
}

// stoppingRunner is an agent that can stop its containers; it notes what
// happened, in order.
type stoppingRunner struct {
	mu     sync.Mutex
	events []string
	stop   func(ctx context.Context) error
}

func (r *stoppingRunner) note(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *stoppingRunner) Run(ctx context.Context) error {
	<-ctx.Done()
	r.note("agent stopped")
	return nil
}

func (r *stoppingRunner) StopContainers(ctx context.Context) error {
	r.note("containers stopped")
	if r.stop != nil {
		return r.stop(ctx)
	}
	return nil
}

// A plain stop (an upgrade) leaves the containers running for the next
// start to adopt; a system shutdown stops them, after the agent, so that
// Windows does not end them without their grace.
func TestServiceHandlerStopsContainersAtSystemShutdownOnly(t *testing.T) {
	tests := []struct {
		cmd  svc.Cmd
		want []string
	}{
		{svc.Stop, []string{"agent stopped"}},
		{svc.PreShutdown, []string{"agent stopped", "containers stopped"}},
		{svc.Shutdown, []string{"agent stopped", "containers stopped"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.cmd), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := &stoppingRunner{}
				h := &serviceHandler{
					start:    func(context.Context) (runner, error) { return r, nil },
					log:      discardLogger,
					stop:     serviceStopBound,
					shutdown: serviceShutdownBound,
				}
				reqs, _, done := execute(h)
				reqs <- svc.ChangeRequest{Cmd: tt.cmd}
				if res := <-done; res != (executeResult{false, 0}) {
					t.Errorf("Execute = %+v, want a clean exit", res)
				}
				if !slices.Equal(r.events, tt.want) {
					t.Errorf("events %q, want %q", r.events, tt.want)
				}
			})
		})
	}
}

// closingRunner is a stoppingRunner that is an io.Closer, as the agent is
// (its driver's handles).
type closingRunner struct{ stoppingRunner }

func (r *closingRunner) Close() error {
	r.note("closed")
	return nil
}

// The agent is closed once it has stopped, and its containers too when a
// system shutdown stops them; an agent that does not stop in time, or
// whose containers do not, is left alone, since it may still use its
// driver.
func TestServiceHandlerClosesTheAgentOnceItHasStopped(t *testing.T) {
	tests := []struct {
		name     string
		cmd      svc.Cmd
		runStuck bool
		stop     func(ctx context.Context) error
		want     []string
	}{
		{"stop", svc.Stop, false, nil, []string{"agent stopped", "closed"}},
		{"shutdown", svc.Shutdown, false, nil, []string{"agent stopped", "containers stopped", "closed"}},
		{"containers that do not stop in time", svc.PreShutdown, false, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, []string{"agent stopped", "containers stopped"}},
		{"an agent that does not stop in time", svc.Stop, true, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				defer close(release)
				r := &closingRunner{stoppingRunner{stop: tt.stop}}
				var a runner = r
				if tt.runStuck {
					a = &stuckCloser{closingRunner: r, release: release}
				}
				h := &serviceHandler{
					start:    func(context.Context) (runner, error) { return a, nil },
					log:      discardLogger,
					stop:     serviceStopBound,
					shutdown: serviceShutdownBound,
				}
				reqs, _, done := execute(h)
				reqs <- svc.ChangeRequest{Cmd: tt.cmd}
				<-done
				if !slices.Equal(r.events, tt.want) {
					t.Errorf("events %q, want %q", r.events, tt.want)
				}
			})
		})
	}
}

// stuckCloser is a closingRunner stuck in a driver call that ignores
// cancellation, until release is closed.
type stuckCloser struct {
	*closingRunner
	release chan struct{}
}

func (r *stuckCloser) Run(context.Context) error { <-r.release; return nil }

func TestServiceHandlerBoundsTheContainersStopAtShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cancelled bool
		r := &stoppingRunner{stop: func(ctx context.Context) error {
			<-ctx.Done()
			cancelled = true
			return ctx.Err()
		}}
		h := &serviceHandler{
			start:    func(context.Context) (runner, error) { return r, nil },
			log:      discardLogger,
			stop:     serviceStopBound,
			shutdown: serviceShutdownBound,
		}
		reqs, status, done := execute(h)
		reqs <- svc.ChangeRequest{Cmd: svc.PreShutdown}
		start := time.Now()
		<-done
		if took := time.Since(start); took != serviceShutdownBound {
			t.Errorf("Execute returned %s after the pre-shutdown, want the bound %s", took, serviceShutdownBound)
		}
		synctest.Wait()
		if !cancelled {
			t.Error("the containers' stop was not told to give up")
		}
		if serviceStopBound+serviceShutdownBound >= servicePreShutdownTimeout {
			t.Errorf("the agent's %s and the containers' %s do not fit in the %s Windows waits", serviceStopBound, serviceShutdownBound, servicePreShutdownTimeout)
		}
		var last uint32
		for _, s := range drain(status) {
			if s.State == svc.StopPending {
				last = s.CheckPoint
			}
		}
		if min := uint32(serviceShutdownBound / serviceStopTick); last < min {
			t.Errorf("last checkpoint %d, want at least %d: the service manager must see it alive while containers stop", last, min)
		}
	})
}

func TestServiceHandlerBoundsTheWaitForInFlightWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		h := &serviceHandler{
			start: func(context.Context) (runner, error) {
				// An agent stuck in a driver call that ignores cancellation.
				return runnerFunc(func(context.Context) error { <-release; return nil }), nil
			},
			log:  discardLogger,
			stop: serviceStopBound,
		}
		reqs, status, done := execute(h)
		reqs <- svc.ChangeRequest{Cmd: svc.Stop}
		start := time.Now()
		res := <-done
		if took := time.Since(start); took != serviceStopBound {
			t.Errorf("Execute returned %s after the stop request, want the bound %s", took, serviceStopBound)
		}
		if res != (executeResult{false, 0}) {
			t.Errorf("Execute = %+v, want a clean exit", res)
		}
		var checkpoints []uint32
		for _, s := range drain(status) {
			if s.State == svc.StopPending {
				if s.WaitHint <= uint32(serviceStopTick.Milliseconds()) {
					t.Errorf("wait hint %d ms does not cover the %s between checkpoints", s.WaitHint, serviceStopTick)
				}
				checkpoints = append(checkpoints, s.CheckPoint)
			}
		}
		// One at the stop request, then one per tick until the bound.
		min := int(serviceStopBound/serviceStopTick) - 1
		if len(checkpoints) < min {
			t.Errorf("%d checkpoints over %s, want at least %d: %v", len(checkpoints), serviceStopBound, min, checkpoints)
		}
		for i, c := range checkpoints {
			if c != uint32(i+1) {
				t.Fatalf("checkpoints do not advance one by one: %v", checkpoints)
			}
		}
	})
}

func TestServiceHandlerFailuresMakeTheManagerRestartIt(t *testing.T) {
	tests := []struct {
		name   string
		start  func(context.Context) (runner, error)
		want   executeResult
		states []svc.State
	}{
		{
			name: "the agent cannot start",
			start: func(context.Context) (runner, error) {
				return nil, errors.New("--driver hcs: vmcompute.dll: not found")
			},
			want:   executeResult{true, serviceExitStartFailed},
			states: []svc.State{svc.StartPending},
		},
		{
			name: "the agent stops on its own",
			start: func(context.Context) (runner, error) {
				return runnerFunc(func(context.Context) error { return errors.New("watcher: folder gone") }), nil
			},
			want:   executeResult{true, serviceExitFailed},
			states: []svc.State{svc.StartPending, svc.Running},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var events eventRecorder
				h := &serviceHandler{start: tt.start, log: slog.New(newEventHandler(&events, slog.LevelInfo)), stop: serviceStopBound}
				_, status, done := execute(h)
				if res := <-done; res != tt.want {
					t.Errorf("Execute = %+v, want %+v", res, tt.want)
				}
				var states []svc.State
				for _, s := range drain(status) {
					states = append(states, s.State)
				}
				if !slices.Equal(states, tt.states) {
					t.Errorf("states %v, want %v", states, tt.states)
				}
				if n := len(events.events); n == 0 || !strings.HasPrefix(events.events[n-1], "Error 3: ") {
					t.Errorf("the failure is not an Error event: %q", events.events)
				}
			})
		})
	}
}

func TestServiceErrorsSayWhatToDo(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{windows.ERROR_ACCESS_DENIED, "run this from an elevated PowerShell"},
		{windows.ERROR_SERVICE_EXISTS, "already installed; run `isoagent service uninstall` first"},
		{windows.ERROR_SERVICE_DOES_NOT_EXIST, "not installed; install it with `isoagent service install"},
		{windows.ERROR_SERVICE_MARKED_FOR_DELETE, "still being removed"},
		{windows.ERROR_SERVICE_DISABLED, "Set-Service isoagent -StartupType Automatic"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			err := serviceError("op", tt.err)
			if !errors.Is(err, tt.err) {
				t.Errorf("%v does not wrap %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%q does not say %q", err, tt.want)
			}
		})
	}
}

func TestServiceEventLogWrites(t *testing.T) {
	requireServiceSandbox(t)
	if err := installEventSource(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eventlog.Remove(serviceName); err != nil {
			t.Errorf("remove the event source: %v", err)
		}
	})
	el, err := eventlog.Open(serviceName)
	if err != nil {
		t.Fatal(err)
	}
	defer el.Close()
	h := newEventHandler(el, slog.LevelDebug)
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		r := slog.NewRecord(time.Now(), level, "event log test", 0)
		r.AddAttrs(slog.String("level", level.String()))
		if err := h.Handle(t.Context(), r); err != nil {
			t.Errorf("%s: %v", level, err)
		}
	}
}

// The whole life of the service through the real Service Control Manager:
// install (twice: the second is refused), status, start, the agent
// creating a container, stop (the container keeps running), uninstall.
func TestServiceLifecycle(t *testing.T) {
	requireServiceSandbox(t)
	specs, simDir, logDir := t.TempDir(), t.TempDir(), t.TempDir()
	logFile := filepath.Join(logDir, "isoagent.log")
	testutil.WriteSpec(t, specs, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022",
		`command: ["C:\\ServiceMonitor.exe", "w3svc"]`)
	// The service gives each container run a monitor, which outlives it;
	// registered before removeTestService, so it runs once the service
	// is gone, and before the folders go.
	t.Cleanup(func() { endSimRuns(t, simDir) })
	// Registered after the temporary folders, so it runs before their
	// removal: the service process must be gone first.
	t.Cleanup(func() { removeTestService(t) })

	// With the HCS driver: the dependencies are registered (Wine does not
	// enforce them), and install warns about what Wine lacks.
	out, errOut, code := isoagent("service", "install", "--dir", specs)
	if code != exitOK {
		t.Fatalf("install: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "installed the isoagent service") {
		t.Errorf("install says:\n%s", out)
	}
	if testutil.UnderWine() && !strings.Contains(errOut, "warning: this system's service manager has no delayed automatic start") {
		t.Errorf("install does not warn that Wine lacks delayed start:\n%s", errOut)
	}
	out, _, _ = isoagent("service", "status")
	exe, _ := os.Executable()
	for _, want := range []string{
		"state:      stopped",
		"start:      automatic",
		"account:    LocalSystem",
		"command:    " + exe + " run --dir " + specs,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not say %q:\n%s", want, out)
		}
	}
	if want := "depends on: vmcompute, hns"; !testutil.UnderWine() && !strings.Contains(out, want) {
		t.Errorf("status does not say %q:\n%s", want, out)
	}
	if deps := registeredDependencies(t); !slices.Equal(deps, []string{"vmcompute", "hns"}) {
		t.Errorf("registered dependencies %q, want vmcompute and hns", deps)
	}
	if _, errOut, code := isoagent("service", "install", "--dir", specs); code != exitUsage || !strings.Contains(errOut, "already installed") {
		t.Errorf("second install: exit %d, stderr:\n%s", code, errOut)
	}
	if testutil.UnderWine() {
		// There is no HCS here: the agent cannot start, and start says so.
		_, errOut, code = isoagent("service", "start", "--timeout", "2m")
		if want := fmt.Sprintf("stopped instead of running (exit code %d)", serviceExitStartFailed); code != exitUsage || !strings.Contains(errOut, want) || !strings.Contains(errOut, "Get-WinEvent") {
			t.Errorf("start without HCS: exit %d, stderr does not say %q and where to look:\n%s", code, want, errOut)
		}
	}
	if _, errOut, code := isoagent("service", "uninstall"); code != exitOK {
		t.Fatalf("uninstall: exit %d\n%s", code, errOut)
	}

	// With the sim driver, so the service can run here.
	_, errOut, code = isoagent("service", "install", "--dir", specs, "--driver", "sim", "--sim-dir", simDir,
		"--listen=", "--resync", "2s", "--log-file", logFile)
	if code != exitOK {
		t.Fatalf("install: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := isoagent("service", "start", "--timeout", "2m"); code != exitOK {
		t.Fatalf("start: exit %d\n%s\nlog file:\n%s", code, errOut, readFile(logFile))
	}
	out, _, _ = isoagent("service", "status")
	if !strings.Contains(out, "state:      running (pid ") {
		t.Errorf("status of the running sim service:\n%s", out)
	}
	if deps := registeredDependencies(t); len(deps) != 0 {
		t.Errorf("the sim service depends on %q; it needs no HCS", deps)
	}

	d, err := sim.Open(simDir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	web := waitForContainer(t, d, "web", driver.StateRunning)
	pid := servicePID(t)

	if _, errOut, code := isoagent("service", "stop", "--timeout", "2m"); code != exitOK {
		t.Fatalf("stop: exit %d\n%s", code, errOut)
	}
	waitForExit(t, pid)
	if out, _, _ := isoagent("service", "status"); !strings.Contains(out, "state:      stopped") {
		t.Errorf("status after stop:\n%s", out)
	}
	if c := waitForContainer(t, d, "web", driver.StateRunning); c.ID != web.ID {
		t.Errorf("the container was replaced across the stop: %s, then %s", web.ID, c.ID)
	}
	// Its monitor, out of the service's job, outlives the service too.
	if runs, err := d.Runs(web.ID); err != nil || len(runs) != 1 || !monitor.Alive(runs[0]) {
		t.Errorf("the container's runs after the service stopped: %v, %v; want one, its monitor alive", runs, err)
	}
	log := readFile(logFile)
	for _, want := range []string{"running as the Windows service isoagent", `"reason":"stop"`, "isoagent stopped; containers are left running"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log file does not say %q:\n%s", want, log)
		}
	}

	if _, errOut, code := isoagent("service", "uninstall"); code != exitOK {
		t.Fatalf("uninstall: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := isoagent("service", "status"); code != exitUsage || !strings.Contains(errOut, "not installed") {
		t.Errorf("status after uninstall: exit %d, stderr:\n%s", code, errOut)
	}
	if _, errOut, code := isoagent("service", "stop"); code != exitUsage || !strings.Contains(errOut, "not installed") {
		t.Errorf("stop after uninstall: exit %d, stderr:\n%s", code, errOut)
	}
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, eventSourceKey, registry.QUERY_VALUE); err == nil {
		k.Close()
		t.Error("uninstall left the Event Log source")
	}
}

// endSimRuns ends every running container of the simulated host in
// simDir and waits for their monitors, which hold their run's files.
func endSimRuns(t *testing.T, simDir string) {
	t.Helper()
	d, err := sim.Open(simDir, sim.Options{})
	if err != nil {
		t.Error(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, _ := d.List(ctx)
	for _, c := range cs {
		if c.State == driver.StateRunning {
			if err := d.Stop(ctx, c.ID, time.Second); err != nil {
				t.Errorf("stop %s: %v", c.ID, err)
			}
		}
		runs, _ := d.Runs(c.ID)
		for _, r := range runs {
			if h, err := monitor.Open(r); err == nil {
				h.Wait(ctx)
			}
		}
	}
}

// isoagent runs the command line in this process, as main would.
func isoagent(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = dispatch(args, &o, &e)
	return o.String(), e.String(), code
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// registeredDependencies reads the service's dependencies where the
// service manager keeps them. (Wine's QueryServiceConfig leaves them out.)
func registeredDependencies(t *testing.T) []string {
	t.Helper()
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Services\`+serviceName, registry.QUERY_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	deps, _, err := k.GetStringsValue("DependOnService")
	if err != nil && !errors.Is(err, registry.ErrNotExist) {
		t.Fatal(err)
	}
	return deps
}

// servicePID returns the process id of the running service.
func servicePID(t *testing.T) uint32 {
	t.Helper()
	m, err := openServiceManager(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st, err := m.Status()
	if err != nil || st.PID == 0 {
		t.Fatalf("no service process: %+v, %v", st, err)
	}
	return st.PID
}

// waitForExit waits until process pid has exited, so that what it held
// open (the log file) can be removed.
func waitForExit(t *testing.T, pid uint32) {
	t.Helper()
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, pid)
	if err != nil {
		return // gone already
	}
	defer windows.CloseHandle(h)
	if ev, err := windows.WaitForSingleObject(h, uint32(time.Minute.Milliseconds())); ev != windows.WAIT_OBJECT_0 {
		t.Fatalf("the service process %d is still there a minute after it stopped (%d, %v)", pid, ev, err)
	}
}

// waitForContainer waits until the simulated host has the named
// container in state want.
func waitForContainer(t *testing.T, d driver.Driver, name string, want driver.State) driver.Container {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var seen []driver.Container
	for {
		cs, err := d.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Name == name && c.State == want {
				return c
			}
		}
		seen = cs
		select {
		case <-ctx.Done():
			t.Fatalf("no container %s in state %s; the host has %+v", name, want, seen)
		case <-tick.C:
		}
	}
}

// requireServiceSandbox skips tests that register the isoagent service
// and its Event Log source unless they run under Wine, in a prefix of
// their own, or ISOAGENT_TEST_SERVICE=1 says this Windows machine is a
// disposable one. Under Wine it removes what a killed earlier run left.
func requireServiceSandbox(t *testing.T) {
	t.Helper()
	if !testutil.UnderWine() && os.Getenv("ISOAGENT_TEST_SERVICE") != "1" {
		t.Skip("registers the isoagent Windows service: runs under Wine, or on a disposable Windows machine with ISOAGENT_TEST_SERVICE=1")
	}
	removeTestService(t)
}

// removeTestService stops and removes the isoagent service and its Event
// Log source if they are there.
func removeTestService(t *testing.T) {
	t.Helper()
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(serviceName); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := stopService(ctx, s); err != nil {
			t.Errorf("stop the leftover service: %v", err)
		}
		if err := s.Delete(); err != nil {
			t.Errorf("remove the leftover service: %v", err)
		}
		s.Close()
	}
	if err := eventlog.Remove(serviceName); err != nil && !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		t.Errorf("remove the leftover event source: %v", err)
	}
}
