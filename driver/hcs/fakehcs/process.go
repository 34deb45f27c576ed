//go:build windows && cgo

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
)

// Processes and their standard streams. HCS hands the creator of a
// process the handles of its stdin, stdout and stderr pipes in
// HCS_PROCESS_INFORMATION, and hcsshim wraps them with go-winio (overlapped
// I/O on a completion port). The fake does the same with named pipes: the
// client end, opened for overlapped I/O, goes to the caller; the server end
// is the process's, written (or read) by a goroutine of this process that
// acts out what the sim says the command prints. So the output lives as
// long as the process that created the process: a real HCS keeps it
// longer, which no test relies on.
//
// The init process's output is the sim's run (sim.ActRun): its lines as
// they are due, until the run ends. A further process in a running
// container (exec) is acted out by sim.ActExec; it belongs to this process
// of the fake: another cannot open it, and once it has exited no one can.

// pipeSeq numbers the pipes this process makes.
var pipeSeq atomic.Int64

// stdPipe is one standard stream of a process: the caller's end and the
// process's.
type stdPipe struct {
	client windows.Handle // handed to the caller, who closes it
	server *os.File       // the process's end
}

// newStdPipe makes a pipe for a process's stream: out says the process
// writes it (stdout, stderr), else it reads it (stdin).
func newStdPipe(stream string, out bool) (*stdPipe, error) {
	name := fmt.Sprintf(`\\.\pipe\fakehcs-%d-%d-%s`, os.Getpid(), pipeSeq.Add(1), stream)
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	serverAccess, clientAccess := uint32(windows.PIPE_ACCESS_INBOUND), uint32(windows.GENERIC_WRITE)
	if out {
		serverAccess, clientAccess = windows.PIPE_ACCESS_OUTBOUND, windows.GENERIC_READ
	}
	server, err := windows.CreateNamedPipe(n, serverAccess|windows.FILE_FLAG_FIRST_PIPE_INSTANCE,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT, 1, 64<<10, 64<<10, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("pipe %s: %w", name, err)
	}
	client, err := windows.CreateFile(n, clientAccess, 0, nil, windows.OPEN_EXISTING, windows.FILE_FLAG_OVERLAPPED, 0)
	if err != nil {
		windows.CloseHandle(server)
		return nil, fmt.Errorf("pipe %s: %w", name, err)
	}
	if err := windows.ConnectNamedPipe(server, nil); err != nil && err != windows.ERROR_PIPE_CONNECTED {
		windows.CloseHandle(client)
		windows.CloseHandle(server)
		return nil, fmt.Errorf("pipe %s: %w", name, err)
	}
	return &stdPipe{client: client, server: os.NewFile(uintptr(server), name)}, nil
}

// stdio is the pipes a CreateProcess asked for; a nil one was not.
type stdio struct{ in, out, err *stdPipe }

func newStdio(pc v1Process) (_ *stdio, err error) {
	s := &stdio{}
	defer func() {
		if err != nil {
			s.closeAll()
		}
	}()
	if pc.CreateStdInPipe {
		if s.in, err = newStdPipe("stdin", false); err != nil {
			return nil, err
		}
	}
	if pc.CreateStdOutPipe {
		if s.out, err = newStdPipe("stdout", true); err != nil {
			return nil, err
		}
	}
	if pc.CreateStdErrPipe && !pc.EmulateConsole {
		// A console has one output: stderr goes to stdout.
		if s.err, err = newStdPipe("stderr", true); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// info fills HCS_PROCESS_INFORMATION's handles.
func (s *stdio) info(pi *hcsProcessInformation) {
	for _, p := range []struct {
		pipe *stdPipe
		h    *uintptr
	}{{s.in, &pi.StdInput}, {s.out, &pi.StdOutput}, {s.err, &pi.StdError}} {
		if p.pipe != nil {
			*p.h = uintptr(p.pipe.client)
		}
	}
}

// closeAll closes both ends of every pipe: the create failed.
func (s *stdio) closeAll() {
	for _, p := range []*stdPipe{s.in, s.out, s.err} {
		if p != nil {
			windows.CloseHandle(p.client)
			p.server.Close()
		}
	}
}

// writers are the process's ends of its output, stderr falling back to
// stdout (a console) and both to nothing; reader is its stdin, or nil.
func (s *stdio) writers() (stdout, stderr io.WriteCloser) {
	stdout, stderr = nopCloser{io.Discard}, nopCloser{io.Discard}
	if s.out != nil {
		stdout = s.out.server
		stderr = nopCloser{s.out.server}
	}
	if s.err != nil {
		stderr = s.err.server
	}
	return stdout, stderr
}

func (s *stdio) reader() io.Reader {
	if s.in == nil {
		return nil
	}
	return s.in.server
}

// closeServer closes the process's ends once it has exited: the caller
// reads the end of its output.
func (s *stdio) closeServer() {
	for _, p := range []*stdPipe{s.in, s.out, s.err} {
		if p != nil {
			p.server.Close()
		}
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// actInit writes the output of the init process of container id's run that
// started at startedAt to its pipes, until the run ends.
func actInit(h *host, id string, startedAt time.Time, s *stdio) error {
	if s.out == nil && s.err == nil {
		// Nothing to carry it: acting it out would only keep a goroutine
		// reading the state folder.
		return nil
	}
	p, err := sim.ActRun(context.Background(), h.dir, id, startedAt)
	if err != nil {
		return err
	}
	stdout, stderr := s.writers()
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(stdout, p.Stdout()) })
	wg.Go(func() { io.Copy(stderr, p.Stderr()) })
	go func() {
		wg.Wait()
		s.closeServer()
	}()
	return nil
}

// execProc is a process created in a running container besides its init
// process, acted out in this process of the fake.
type execProc struct {
	pid    int
	cancel context.CancelFunc // terminates it
	done   chan struct{}      // closed once it has exited and its output is written
	code   int
}

var (
	execsMu sync.Mutex
	execs   = map[string]map[int]*execProc{} // container ID -> PID -> process
	execPID atomic.Int64
)

// startExec starts argv in running container id (host name hostName, its
// init process's run started at startedAt) with the pipes s.
func startExec(h *host, id, hostName string, startedAt time.Time, argv []string, console bool, s *stdio) *execProc {
	ctx, cancel := context.WithCancel(context.Background())
	p := &execProc{pid: 20000 + int(execPID.Add(1))*4, cancel: cancel, done: make(chan struct{})}
	execsMu.Lock()
	if execs[id] == nil {
		execs[id] = map[int]*execProc{}
	}
	execs[id][p.pid] = p
	execsMu.Unlock()
	running := func() bool {
		c, ok := simContainer(h, id)
		return ok && c.State == driver.StateRunning && c.StartedAt.Equal(startedAt)
	}
	stdout, stderr := s.writers()
	go func() {
		code, err := sim.ActExec(ctx, driver.ExecProcess{Command: argv, Stdin: s.reader(), Stdout: stdout, Stderr: stderr, TTY: console}, hostName, running)
		if err != nil {
			code = exitTerminated // terminated (HcsTerminateProcess)
		}
		s.closeServer()
		p.code = code
		close(p.done)
	}()
	return p
}

// execOf returns exec process pid of container id, if this process of the
// fake has it.
func execOf(id string, pid int) *execProc {
	execsMu.Lock()
	defer execsMu.Unlock()
	return execs[id][pid]
}

// exited reports whether p has exited, and its exit code.
func (p *execProc) exited() (bool, int) {
	select {
	case <-p.done:
		return true, p.code
	default:
		return false, 0
	}
}
