package sim

import (
	"fmt"
	"sync"

	"github.com/isoagent/isoagent/internal/jsonstore"
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
// at once: each operation holds an exclusive lock on dir/lock while it
// reads, changes and writes dir/state.json, and the file is replaced
// whole, so a crash never leaves it half-written (package jsonstore).
func DirStore(dir string) (Store, error) {
	js, err := jsonstore.Open[state](dir, stateFile, jsonstore.Options{Lock: lockFile})
	if err != nil {
		return nil, fmt.Errorf("sim state folder: %w", err)
	}
	return dirStore{js, dir}, nil
}

type dirStore struct {
	js  *jsonstore.Store[state]
	dir string
}

// storeDir returns the folder of a DirStore, "" for another store.
func storeDir(s Store) string {
	if d, ok := s.(dirStore); ok {
		return d.dir
	}
	return ""
}

func (d dirStore) update(fn func(*state) error) error { return d.js.Update(fn) }
func (d dirStore) view(fn func(*state) error) error   { return d.js.View(fn) }
