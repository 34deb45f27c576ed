package agentstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/isoagent/isoagent/internal/filelock"
)

// A Lock is one agent's hold on its owner in a state folder: while it is
// held, no other agent of that owner starts on the host. The lock is the
// operating system's (flock on Unix, LockFileEx on Windows) on the file
// agent-OWNER.lock, so it ends with the process that holds it however that
// process ends, kill -9 and crashes included; nothing stale is left to
// clean up. The file also records the holder's PID and spec folder, for
// the message of the agent it refuses.
type Lock struct {
	f    *os.File
	path string
}

// Holder is what a lock file records of the agent that holds it.
type Holder struct {
	PID     int       `json:"pid"`
	Dir     string    `json:"dir"`
	Started time.Time `json:"started"`
}

// HeldError is returned by Acquire when another process holds the lock.
type HeldError struct {
	Owner string
	Path  string // the lock file
	// Holder is what the lock file records; zero when it could not be
	// read (the holder may be writing it at that moment).
	Holder Holder
}

func (e *HeldError) Error() string {
	who := "another agent"
	if e.Holder.PID != 0 {
		who = fmt.Sprintf("another agent (PID %d, spec folder %s, since %s)", e.Holder.PID, e.Holder.Dir, e.Holder.Started.Format(time.RFC3339))
	}
	return fmt.Sprintf("%s runs for owner %s on this host: it holds %s; stop it first, or give this agent another --owner", who, e.Owner, e.Path)
}

// Acquire takes the lock of owner in state folder dir, creating the folder
// and file when needed, and records this process's PID and spec folder
// specDir in it. When another process holds the lock, it returns a
// *HeldError naming that process. The caller must Release the lock once
// its agent has stopped.
func Acquire(dir, owner, specDir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("agent lock: %w", err)
	}
	path := filepath.Join(Abs(dir), "agent-"+owner+".lock")
	// Never O_TRUNC: the holder's record must survive a refused open.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("agent lock: %w", err)
	}
	if err := filelock.TryLock(f); err != nil {
		f.Close()
		if errors.Is(err, filelock.ErrHeld) {
			return nil, &HeldError{Owner: owner, Path: path, Holder: readHolder(path)}
		}
		return nil, fmt.Errorf("agent lock %s: %w", path, err)
	}
	l := &Lock{f: f, path: path}
	b, _ := json.Marshal(Holder{PID: os.Getpid(), Dir: specDir, Started: time.Now().UTC().Truncate(time.Second)})
	// The file is rewritten in place, not replaced: the lock is on this
	// file, and a reader that finds it short or empty says so.
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
	}
	if err != nil {
		l.Release()
		return nil, fmt.Errorf("agent lock %s: record the holder: %w", path, err)
	}
	return l, nil
}

// readHolder reads what a lock file records; the zero Holder when it
// cannot.
func readHolder(path string) Holder {
	var h Holder
	b, err := os.ReadFile(path)
	if err == nil {
		_ = json.Unmarshal([]byte(strings.TrimSpace(string(b))), &h)
	}
	return h
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

// Release ends the hold. The file stays, so that the next agent takes the
// lock on the same file; it is the lock, not the file, that counts.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := filelock.Unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
