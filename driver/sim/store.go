package sim

import "sync"

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
	defer clear(m.st.touched) // nothing to save it for
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
// reads and changes the state. The state is dir/state.json and, after
// it, dir/journal.jsonl: an operation appends the containers it touched
// to the journal, which costs the same whatever the number of containers,
// and state.json is replaced whole (atomically) once the journal outgrows
// it, so a crash never leaves either half-written in a way that counts.
func DirStore(dir string) (Store, error) {
	return openJournalStore(dir)
}
