package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// StopTimeout is how long Stop waits for a program to exit after an
// interrupt, and then after a kill.
const StopTimeout = 10 * time.Second

// A Process is a program a test started with Start. It is stopped when the
// test ends, and when the test has failed the tail of its output is
// logged.
type Process struct {
	name string
	cmd  *exec.Cmd
	log  string        // file with the program's stdout and stderr
	done chan struct{} // closed once the program has exited
	err  error         // what Wait returned; read after done
}

// Start starts cmd, with its stdout and stderr going to a file of the
// test's, and stops it when the test ends (see Stop). name is how logs
// call it.
func Start(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{name: name, cmd: cmd, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Logf("started %s (pid %d): %s", name, cmd.Process.Pid, strings.Join(cmd.Args, " "))
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stop %s: %v", name, err)
		}
		if t.Failed() {
			t.Logf("%s output (last 4 KiB):\n%s", name, p.Output(4096))
		}
	})
	return p
}

// StartAgent starts the isoagent binary bin (see BuildAgent) with args,
// as Start does.
func StartAgent(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	return Start(t, "isoagent", exec.Command(bin, args...))
}

// Exited reports whether the program has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err returns what waiting for the program returned: nil for an exit
// with status 0. Call it only once Exited reports true.
func (p *Process) Err() error { return p.err }

// Stop interrupts the program and waits for it to exit, and kills it if
// it has not within StopTimeout. On Windows, where a process cannot be
// interrupted, it kills it at once. It returns an error when the program
// had to be killed after an interrupt, or would not die.
func (p *Process) Stop() error {
	if p.Exited() {
		return nil
	}
	interrupted := runtime.GOOS != "windows"
	if interrupted {
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return err
		}
		select {
		case <-p.done:
			return nil
		case <-time.After(StopTimeout):
		}
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.done:
		if interrupted {
			return fmt.Errorf("did not exit within %v of an interrupt; killed", StopTimeout)
		}
		return nil
	case <-time.After(StopTimeout):
		return fmt.Errorf("still running %v after a kill", StopTimeout)
	}
}

// Output returns up to the last n bytes the program wrote.
func (p *Process) Output(n int) string {
	data, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}
