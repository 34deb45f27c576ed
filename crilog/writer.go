package crilog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/isoagent/isoagent/internal/atomicfile"
	"github.com/isoagent/isoagent/internal/safefile"
)

// Defaults of Options, the kubelet's.
const (
	DefaultMaxSize  = 10 << 20
	DefaultMaxFiles = 5
)

// Options configure a Writer; zero fields take the defaults.
type Options struct {
	// MaxSize is the size in bytes at which the file is rotated.
	MaxSize int64
	// MaxFiles is how many files are kept, the one written to included;
	// at least 2.
	MaxFiles int
	// Now tells the time of an entry (time.Now when nil).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxFiles < 2 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// rotatedSuffix names the file beside a log that counts the bytes of
// every file rotated away from it, deleted since or not, so that what a
// log has taken in is that count and the current file's size. It gets a
// line per rotation, the count so far, and is never replaced under a
// reader (which Windows refuses), but when it has grown to
// rotatedCompactAt; then its last line replaces it.
const (
	rotatedSuffix    = ".rotated"
	rotatedCompactAt = 4 << 10
)

// Writer appends entries to a log file and rotates it. It is safe for
// concurrent use; Streams of stdout and stderr share one Writer.
type Writer struct {
	path string
	opts Options

	mu      sync.Mutex
	f       *os.File
	buf     *bufio.Writer
	size    int64 // of the file written to
	rotated int64 // of the files rotated away
	scratch []byte
	err     error // the first write error; later writes are dropped
}

// Create opens the log file path for appending, creating it (mode 0600)
// when it does not exist; what it holds stays and counts towards MaxSize.
func Create(path string, opts Options) (*Writer, error) {
	w := &Writer{path: path, opts: opts.withDefaults()}
	if err := w.open(); err != nil {
		return nil, err
	}
	w.rotated = readRotated(path)
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	w.f, w.size = f, fi.Size()
	if w.buf == nil {
		w.buf = bufio.NewWriterSize(f, 64<<10)
	} else {
		w.buf.Reset(f)
	}
	return nil
}

// Write appends one entry stamped with the Writer's clock.
func (w *Writer) Write(s Stream, partial bool, content []byte) error {
	return w.WriteAt(w.opts.Now(), s, partial, content)
}

// WriteAt appends one entry stamped t. Content longer than MaxLineSize is
// the caller's to split (Stream does). After a write error the Writer
// drops everything and keeps returning the error.
func (w *Writer) WriteAt(t time.Time, s Stream, partial bool, content []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.scratch = appendEntry(w.scratch[:0], t, s, partial, content)
	n := int64(len(w.scratch))
	if w.size > 0 && w.size+n > w.opts.MaxSize {
		if err := w.rotate(); err != nil {
			w.err = err
			return err
		}
	}
	if _, err := w.buf.Write(w.scratch); err != nil {
		w.err = fmt.Errorf("write log: %w", err)
		return w.err
	}
	w.size += n
	return nil
}

// rotate renames path to path.N, N one more than the newest rotated
// file's, deletes the oldest rotated files beyond MaxFiles and opens a new
// path. A rotated file keeps its name until it is deleted, so a reader
// that follows the log never sees a file renamed twice.
func (w *Writer) rotate() error {
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	old, err := rotatedFiles(w.path)
	if err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	next := 1
	if len(old) > 0 {
		next = old[len(old)-1].n + 1
	}
	if err := os.Rename(w.path, rotated(w.path, next)); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	// Counted after the rename and before the new file: a reader of
	// Written in between misses the file rotated, never counts it twice.
	w.rotated += w.size
	w.recordRotated()
	if drop := len(old) + 1 - (w.opts.MaxFiles - 1); drop > 0 {
		for _, r := range old[:drop] {
			if err := os.Remove(r.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("rotate log: %w", err)
			}
		}
	}
	return w.open()
}

// recordRotated adds the count of bytes rotated away to the count file.
// The output matters more than its count: a count that cannot be written
// now is, in full, at the next rotation.
func (w *Writer) recordRotated() {
	name := w.path + rotatedSuffix
	line := append(strconv.AppendInt(nil, w.rotated, 10), '\n')
	if fi, err := os.Stat(name); err == nil && fi.Size() >= rotatedCompactAt {
		if atomicfile.WriteFile(name, line, 0o600) == nil {
			return
		}
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	f.Write(line)
	f.Close()
}

func rotated(path string, k int) string { return path + "." + strconv.Itoa(k) }

type rotatedFile struct {
	name string
	n    int
}

// rotatedFiles returns the rotated files of the log at path, oldest
// first.
func rotatedFiles(path string) ([]rotatedFile, error) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	base := filepath.Base(path) + "."
	var out []rotatedFile
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), base)
		if !ok || e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n <= 0 {
			continue
		}
		out = append(out, rotatedFile{filepath.Join(filepath.Dir(path), e.Name()), n})
	}
	slices.SortFunc(out, func(a, b rotatedFile) int { return a.n - b.n })
	return out, nil
}

// Flush writes what is buffered to the file, so that readers see it.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.buf.Flush(); err != nil {
		w.err = fmt.Errorf("write log: %w", err)
	}
	return w.err
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	err := w.Flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Files returns the files of the log at path that exist, oldest first:
// the rotated ones (path.N, numbered as they were rotated), then path.
func Files(path string) ([]string, error) {
	rs, err := rotatedFiles(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.name)
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) && len(out) == 0 {
			return nil, err
		}
	} else {
		out = append(out, path)
	}
	return out, nil
}

// Written returns how many bytes of entries the log at path has taken in
// all: what was rotated away from it, deleted since or not, and the size
// of its current file. While a Writer rotates the log it may miss the file
// being rotated, never count it twice: a reader wanting a count that never
// goes back keeps the largest it saw.
func Written(path string) (int64, error) {
	n := readRotated(path)
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && n > 0 {
			return n, nil // between a rotation's rename and its new file
		}
		return n, err
	}
	return n + fi.Size(), nil
}

// readRotated returns the count of bytes rotated away from the log at
// path: the last whole line of its count file; 0 before its first
// rotation.
func readRotated(path string) int64 {
	// Shared for deletion on Windows: a compaction renames over it.
	b, err := safefile.ReadFile(path + rotatedSuffix)
	if err != nil {
		return 0
	}
	b = b[:bytes.LastIndexByte(b, '\n')+1] // a line being appended is not whole yet
	b = bytes.TrimSuffix(b, []byte("\n"))
	n, _ := strconv.ParseInt(string(b[bytes.LastIndexByte(b, '\n')+1:]), 10, 64)
	return n
}

// A LineWriter turns what one stream of a process prints into entries of
// a Writer: a line is an entry stamped when its newline arrives; a line
// longer than MaxLineSize is split into P entries of MaxLineSize bytes and
// an F entry. Close writes what is left without a newline as a P entry. A
// LineWriter is for one goroutine.
type LineWriter struct {
	w       *Writer
	s       Stream
	pending []byte
}

// Lines returns a LineWriter of stream s into w.
func (w *Writer) Lines(s Stream) *LineWriter { return &LineWriter{w: w, s: s} }

// Write implements io.Writer. It fails only when the Writer does.
func (l *LineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.pending = append(l.pending, p...)
			for len(l.pending) > MaxLineSize {
				if err := l.w.Write(l.s, true, l.pending[:MaxLineSize]); err != nil {
					return 0, err
				}
				l.pending = append(l.pending[:0], l.pending[MaxLineSize:]...)
			}
			return n, nil
		}
		line := p[:i]
		p = p[i+1:]
		if len(l.pending) > 0 {
			l.pending = append(l.pending, line...)
			line = l.pending
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		for len(line) > MaxLineSize {
			if err := l.w.Write(l.s, true, line[:MaxLineSize]); err != nil {
				return 0, err
			}
			line = line[MaxLineSize:]
		}
		if err := l.w.Write(l.s, false, line); err != nil {
			return 0, err
		}
		l.pending = l.pending[:0]
	}
	return n, nil
}

// Close writes a line left without its newline as a P entry, as
// containerd does at the end of a stream.
func (l *LineWriter) Close() error {
	if len(l.pending) == 0 {
		return nil
	}
	err := l.w.Write(l.s, true, l.pending)
	l.pending = l.pending[:0]
	return err
}
