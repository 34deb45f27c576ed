package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/isoagent/isoagent/internal/atomicfile"
)

// Store keeps the state of a simulated host. Every operation of a Model is
// one call of the store's update or view, which run with exclusive access
// to the state: within the process and, for a folder, across processes.
//
// The methods are unexported: the two stores are MemoryStore and DirStore.
type Store interface {
	// update runs fn on the state and saves it unless fn fails. fn must
	// leave the state as it was when it fails.
	update(fn func(*state) error) error
	// view runs fn on the state without saving it.
	view(fn func(*state) error) error
}

// MemoryStore returns a store that keeps the state in memory, for tests and
// benchmarks that need neither a folder nor a second process.
func MemoryStore() Store { return &memStore{st: new(state)} }

type memStore struct {
	mu sync.Mutex
	st *state
}

func (m *memStore) update(fn func(*state) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fn(m.st)
}

func (m *memStore) view(fn func(*state) error) error { return m.update(fn) }

// File names in a state folder.
const (
	stateFile = "state.json"
	lockFile  = "lock"
)

// DirStore returns a store that keeps the state in folder dir, creating
// the folder when needed. Any number of processes may use the same folder
// at once: each operation holds an exclusive lock on dir/lock (flock on
// Unix, LockFileEx on Windows) while it reads, changes and writes
// dir/state.json, and the file is replaced atomically (a temporary file
// renamed over it), so a crash never leaves it half-written.
func DirStore(dir string) (Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sim state folder: %w", err)
	}
	return &dirStore{dir: dir}, nil
}

type dirStore struct {
	dir string

	mu sync.Mutex // orders this process's goroutines before the file lock
	// cached is the state as last read or written, and info the state
	// file it came from: a later operation that finds the same file skips
	// decoding it again.
	cached *state
	info   fs.FileInfo
}

func (d *dirStore) update(fn func(*state) error) error { return d.do(fn, true) }
func (d *dirStore) view(fn func(*state) error) error   { return d.do(fn, false) }

func (d *dirStore) do(fn func(*state) error, save bool) (err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	unlock, err := lock(filepath.Join(d.dir, lockFile))
	if err != nil {
		return fmt.Errorf("sim state folder %s: lock: %w", d.dir, err)
	}
	defer func() {
		if uerr := unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("sim state folder %s: unlock: %w", d.dir, uerr)
		}
	}()
	st, err := d.load()
	if err != nil {
		return err
	}
	if err := fn(st); err != nil {
		return err
	}
	if !save {
		return nil
	}
	if err := d.save(st); err != nil {
		d.cached, d.info = nil, nil
		return err
	}
	return nil
}

func (d *dirStore) load() (*state, error) {
	name := filepath.Join(d.dir, stateFile)
	info, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		d.cached, d.info = nil, nil
		return new(state), nil
	}
	if err != nil {
		return nil, fmt.Errorf("sim state: %w", err)
	}
	if d.cached != nil && os.SameFile(info, d.info) && info.ModTime().Equal(d.info.ModTime()) && info.Size() == d.info.Size() {
		return d.cached, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("sim state: %w", err)
	}
	st := new(state)
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("sim state %s: %w", name, err)
	}
	d.cached, d.info = st, info
	return st, nil
}

func (d *dirStore) save(st *state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("sim state: %w", err)
	}
	name := filepath.Join(d.dir, stateFile)
	if err := atomicfile.WriteFile(name, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("sim state: save: %w", err)
	}
	info, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("sim state: %w", err)
	}
	d.cached, d.info = st, info
	return nil
}
