package sim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/isoagent/isoagent/internal/atomicfile"
	"github.com/isoagent/isoagent/internal/jsonstore"
)

// journalFile holds, after the state file, what each update changed: one
// JSON line per update, with the host's other fields as they are after it
// and the containers it touched (null for one removed). Every value in a
// line is absolute, so replaying a line twice, or lines older than the
// state file, ends in the same state.
const journalFile = "journal.jsonl"

// journalEntry is one line of the journal.
type journalEntry struct {
	State      state              `json:"state"` // without Containers
	Containers map[string]*record `json:"containers"`
}

// journalStore is DirStore's store: an update appends what it touched to
// the journal instead of rewriting the state file, so it costs the same
// on a host of ten thousand containers as on one; the state file is
// rewritten (and the journal emptied) once the journal outgrows it. A
// process that finds the journal grown since its last access reads only
// what was appended. Every access holds the folder's lock.
type journalStore struct {
	base, journal, lock string

	mu sync.Mutex
	// st is the state as of the state file baseInfo and the journal's
	// first off bytes (journalInfo), nil when it must be read again.
	st          *state
	baseInfo    fs.FileInfo
	journalInfo fs.FileInfo
	off         int64
}

// minCompact is the journal size below which it is never compacted.
const minCompact = 1 << 20

func openJournalStore(dir string) (*journalStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sim state folder: %w", err)
	}
	return &journalStore{
		base:    filepath.Join(dir, stateFile),
		journal: filepath.Join(dir, journalFile),
		lock:    filepath.Join(dir, lockFile),
	}, nil
}

func (j *journalStore) update(fn func(*state) error) error { return j.do(fn, true) }
func (j *journalStore) view(fn func(*state) error) error   { return j.do(fn, false) }

func (j *journalStore) do(fn func(*state) error, save bool) (err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	unlock, err := jsonstore.Lock(j.lock)
	if err != nil {
		return fmt.Errorf("lock %s: %w", j.lock, err)
	}
	defer func() {
		if uerr := unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("unlock %s: %w", j.lock, uerr)
		}
	}()
	if err := j.load(); err != nil {
		j.st = nil
		return err
	}
	if err := fn(j.st); err != nil {
		if save {
			j.st = nil // read again: fn may have changed it before failing
		}
		return err
	}
	if !save {
		return nil
	}
	if err := j.save(); err != nil {
		j.st = nil
		return err
	}
	return nil
}

// load brings j.st up to date with the files.
func (j *journalStore) load() error {
	bi, err := os.Stat(j.base)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	ji, err := os.Stat(j.journal)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	fresh := j.st != nil && sameInfo(bi, j.baseInfo) && ji != nil && j.journalInfo != nil &&
		os.SameFile(ji, j.journalInfo) && ji.Size() >= j.off
	if fresh && ji.Size() == j.off {
		return nil
	}
	if !fresh {
		st := new(state)
		if bi != nil {
			b, err := os.ReadFile(j.base)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, st); err != nil {
				return fmt.Errorf("%s: %w", j.base, err)
			}
		}
		j.st, j.baseInfo, j.journalInfo, j.off = st, bi, ji, 0
		if ji == nil {
			return nil
		}
	}
	f, err := os.Open(j.journal)
	if errors.Is(err, fs.ErrNotExist) {
		j.journalInfo, j.off = nil, 0
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(j.off, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			// A line without its end is an update that died while
			// writing it; the next save cuts it off.
			break
		}
		if err != nil {
			return err
		}
		var e journalEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("%s at byte %d: %w", j.journal, j.off, err)
		}
		j.st.apply(e)
		j.off += int64(len(line))
	}
	j.journalInfo = ji
	return nil
}

// apply puts what a journal line says into s.
func (s *state) apply(e journalEntry) {
	containers, idx := s.Containers, s.idx
	*s = e.State
	s.Containers, s.idx = containers, idx
	for id, r := range e.Containers {
		s.drop(id)
		if r != nil {
			s.put(id, r)
		}
	}
}

// save appends what the update touched to the journal, or writes the state
// file whole when the journal has outgrown it.
func (j *journalStore) save() error {
	st := j.st
	baseSize := int64(0)
	if j.baseInfo != nil {
		baseSize = j.baseInfo.Size()
	}
	if j.off >= max(minCompact, baseSize) {
		return j.compact()
	}
	e := journalEntry{State: *st, Containers: make(map[string]*record, len(st.touched))}
	e.State.Containers, e.State.idx, e.State.touched = nil, nil, nil
	for id := range st.touched {
		e.Containers[id] = st.Containers[id] // nil when removed
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode %s: %w", j.journal, err)
	}
	line = append(line, '\n')
	f, err := os.OpenFile(j.journal, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	// Whatever follows the lines read (the rest of a line an update died
	// writing) goes.
	if err := f.Truncate(j.off); err != nil {
		return err
	}
	if _, err := f.WriteAt(line, j.off); err != nil {
		return err
	}
	ji, err := f.Stat()
	if err != nil {
		return err
	}
	j.journalInfo, j.off = ji, j.off+int64(len(line))
	clear(st.touched)
	return nil
}

// compact writes the state file whole and empties the journal. A crash
// between the two leaves lines the state file already holds, which
// replay to the same state.
func (j *journalStore) compact() error {
	b, err := json.Marshal(j.st)
	if err != nil {
		return fmt.Errorf("encode %s: %w", j.base, err)
	}
	if err := atomicfile.WriteFile(j.base, append(b, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Truncate(j.journal, 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	bi, err := os.Stat(j.base)
	if err != nil {
		return err
	}
	ji, err := os.Stat(j.journal)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	j.baseInfo, j.journalInfo, j.off = bi, ji, 0
	clear(j.st.touched)
	return nil
}

// sameInfo reports whether a and b describe the same file as it was (nil
// for a file that is not there).
func sameInfo(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
