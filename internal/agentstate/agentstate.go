// Package agentstate keeps what an agent remembers of its last run, per
// owner: the spec folder it ran on. An agent started on another folder
// than last time, with containers of its owner on the host, holds its
// prunes until they are confirmed (see reconcile.EngineOptions.HoldPrune):
// a mistyped --dir must not prune a host.
package agentstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/isoagent/isoagent/internal/atomicfile"
)

// State is what an agent remembers.
type State struct {
	// Dir is the spec folder the agent last ran on, absolute, as given
	// (links not resolved: a git-sync link names the same folder whatever
	// commit it points at).
	Dir string `json:"dir"`
}

// File is the state file of one owner in a state folder.
type File struct {
	path string
}

// Open returns the state file of owner in folder dir; it reads nothing.
func Open(dir, owner string) File {
	return File{path: filepath.Join(dir, "agent-"+owner+".json")}
}

// Path returns the file's path.
func (f File) Path() string { return f.path }

// Load reads the state; a file that does not exist yet is the zero State.
func (f File) Load() (State, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("agent state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("agent state %s: %w", f.path, err)
	}
	return s, nil
}

// Save writes s, replacing the file whole.
func (f File) Save(s State) error {
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return fmt.Errorf("agent state: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(f.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("agent state: %w", err)
	}
	return nil
}

// Abs is the form folders are remembered and compared in: absolute and
// clean.
func Abs(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return filepath.Clean(dir)
}

// SameDir reports whether a and b, both from Abs, name the same folder:
// case is ignored on Windows.
func SameDir(a, b string) bool {
	if runtime.GOOS == "windows" {
		return strings.EqualFold(a, b)
	}
	return a == b
}
