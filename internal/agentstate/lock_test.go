package agentstate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The helper process of the lock tests: it takes the lock named by the
// environment, says so on stdout and holds it until killed or its stdin
// closes; refused, it prints the error and exits 3.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("AGENTSTATE_LOCK_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	l, err := Acquire(dir, os.Getenv("AGENTSTATE_LOCK_OWNER"), os.Getenv("AGENTSTATE_LOCK_SPECS"))
	if err != nil {
		fmt.Println("refused:", err)
		os.Exit(3)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	l.Release()
	os.Exit(0)
}

// holder is a helper process holding, or refused, a lock.
type holder struct {
	cmd  *exec.Cmd
	line string // its first line of output
	done chan error
}

func startHolder(t *testing.T, dir, owner, specs string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "AGENTSTATE_LOCK_DIR="+dir, "AGENTSTATE_LOCK_OWNER="+owner, "AGENTSTATE_LOCK_SPECS="+specs)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		s.Scan()
		lines <- s.Text()
		io.Copy(io.Discard, out)
		h.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		h.wait(t)
	})
	select {
	case h.line = <-lines:
	case <-time.After(time.Minute):
		t.Fatal("the helper process said nothing within a minute")
	}
	return h
}

// wait waits for the helper to exit and returns its exit code.
func (h *holder) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-h.done:
		h.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		return 0
	case <-time.After(time.Minute):
		t.Fatal("the helper process did not exit within a minute")
		return -1
	}
}

func TestLockOneAgentPerOwner(t *testing.T) {
	dir := t.TempDir()
	first := startHolder(t, dir, "isoagent", "/specs/first")
	if first.line != "locked" {
		t.Fatalf("first agent: %q", first.line)
	}
	pid := first.cmd.Process.Pid

	// A second process of the same owner is refused, told who holds it.
	second := startHolder(t, dir, "isoagent", "/specs/second")
	if code := second.wait(t); code != 3 || !strings.Contains(second.line, fmt.Sprintf("PID %d, spec folder /specs/first", pid)) {
		t.Errorf("second agent: exit %d, %q; want refused, naming PID %d and /specs/first", code, second.line, pid)
	}
	_, err := Acquire(dir, "isoagent", "/specs/third")
	var held *HeldError
	if !errors.As(err, &held) || held.Holder.PID != pid || held.Holder.Dir != "/specs/first" || held.Owner != "isoagent" {
		t.Fatalf("Acquire while held = %v (%+v)", err, held)
	}

	// Another owner is not held up.
	other, err := Acquire(dir, "teamb", "/specs/b")
	if err != nil {
		t.Fatalf("another owner: %v", err)
	}
	if err := other.Release(); err != nil {
		t.Fatal(err)
	}

	// kill -9 of the holder leaves nothing stuck.
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.wait(t)
	l, err := Acquire(dir, "isoagent", "/specs/after")
	if err != nil {
		t.Fatalf("Acquire after the holder was killed: %v", err)
	}
	if h := readHolder(l.Path()); h.PID != os.Getpid() || h.Dir != "/specs/after" {
		t.Errorf("the lock file records %+v, want this process and /specs/after", h)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}

	// Released, it is free again, for another process too.
	again := startHolder(t, dir, "isoagent", "/specs/again")
	if again.line != "locked" {
		t.Fatalf("after a release: %q", again.line)
	}
}

func TestHeldErrorWithoutRecord(t *testing.T) {
	err := (&HeldError{Owner: "isoagent", Path: "/state/agent-isoagent.lock"}).Error()
	if !strings.Contains(err, "another agent runs for owner isoagent") || !strings.Contains(err, "/state/agent-isoagent.lock") {
		t.Errorf("%s", err)
	}
}
