// Package jsonstore keeps one value in a JSON file that any number of
// goroutines and processes share, such as the fake HCS's state; Lock is
// its locking alone, which the simulated host's journal (driver/sim) takes.
//
// Every access holds an exclusive lock on a lock file beside the value's
// file (flock on Unix, LockFileEx on Windows) while it reads the file and,
// for an update, replaces it whole (package atomicfile): a reader never
// sees half a write, and a process that dies mid-write leaves the old
// value. A missing file is the zero value. A store remembers the value it
// last read or wrote and decodes the file again only when another writer
// has replaced it.
package jsonstore

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

// Options shape a Store's files.
type Options struct {
	// Lock is the name of the lock file in the folder; default the value
	// file's name with ".lock" appended.
	Lock string
	// Indent writes the JSON indented by two spaces, for a file people
	// read; default compact.
	Indent bool
	// Perm is the value file's permission bits; default 0o600.
	Perm fs.FileMode
}

// A Store is the value of type T kept in one file. Its methods are safe
// for concurrent use, and exclusive across processes.
type Store[T any] struct {
	file, lock string
	opts       Options

	mu sync.Mutex // orders this process's goroutines before the file lock
	// cached is the value as last read or written, and info the file it
	// came from: an access that finds the same file skips decoding it.
	cached *T
	info   fs.FileInfo
}

// Open returns the store of the file name in folder dir, creating the
// folder when needed. It reads nothing yet.
func Open[T any](dir, name string, opts Options) (*Store[T], error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", filepath.Join(dir, name), err)
	}
	if opts.Lock == "" {
		opts.Lock = name + ".lock"
	}
	if opts.Perm == 0 {
		opts.Perm = 0o600
	}
	return &Store[T]{file: filepath.Join(dir, name), lock: filepath.Join(dir, opts.Lock), opts: opts}, nil
}

// Update runs fn on the value and saves what fn leaves, unless fn fails:
// then the file is left as it was, and so is the value the next access
// gets, whatever fn changed before it failed.
func (s *Store[T]) Update(fn func(*T) error) error { return s.do(fn, true) }

// View runs fn on the value without saving it. fn may derive things in
// the value (an index, a clock's consequences) as long as saving them
// would not change what the file means: the next access may get them.
func (s *Store[T]) View(fn func(*T) error) error { return s.do(fn, false) }

func (s *Store[T]) do(fn func(*T) error, save bool) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lock(s.lock)
	if err != nil {
		return fmt.Errorf("lock %s: %w", s.lock, err)
	}
	defer func() {
		if uerr := unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("unlock %s: %w", s.lock, uerr)
		}
	}()
	v, err := s.load()
	if err != nil {
		return err
	}
	if err := fn(v); err != nil {
		if save {
			s.cached, s.info = nil, nil
		}
		return err
	}
	if !save {
		return nil
	}
	if err := s.save(v); err != nil {
		s.cached, s.info = nil, nil
		return err
	}
	return nil
}

func (s *Store[T]) load() (*T, error) {
	info, err := os.Stat(s.file)
	if errors.Is(err, fs.ErrNotExist) {
		s.cached, s.info = nil, nil
		return new(T), nil
	}
	if err != nil {
		return nil, err
	}
	if s.cached != nil && os.SameFile(info, s.info) && info.ModTime().Equal(s.info.ModTime()) && info.Size() == s.info.Size() {
		return s.cached, nil
	}
	b, err := os.ReadFile(s.file)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("%s: %w", s.file, err)
	}
	s.cached, s.info = v, info
	return v, nil
}

func (s *Store[T]) save(v *T) error {
	var b []byte
	var err error
	if s.opts.Indent {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return fmt.Errorf("encode %s: %w", s.file, err)
	}
	if err := atomicfile.WriteFile(s.file, append(b, '\n'), s.opts.Perm); err != nil {
		return err
	}
	info, err := os.Stat(s.file)
	if err != nil {
		return err
	}
	s.cached, s.info = v, info
	return nil
}

// Lock takes the exclusive lock a Store takes on its lock file, on the
// file name (created when needed), and returns the function that releases
// it: for a store of another shape that shares a folder's locking rules
// (the simulated host's journal).
func Lock(name string) (unlock func() error, err error) { return lock(name) }
