package crilog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/isoagent/isoagent/internal/safefile"
)

// ReadOptions say what Copy prints.
type ReadOptions struct {
	// Tail, when positive, prints only the last Tail lines (of those
	// since Since).
	Tail int
	// Since, when not zero, leaves out lines printed before it.
	Since time.Time
	// Timestamps prefixes each line with the time it was printed (RFC
	// 3339 with nanoseconds) and a space.
	Timestamps bool
	// Follow keeps printing what is written after the end was reached,
	// across rotations, until Done reports true and what was written
	// before has been printed, or ctx ends.
	Follow bool
	// Done reports that nothing more will be written (the run has
	// ended); nil means never, for Follow.
	Done func() bool
	// Poll is how often a follower looks for more (default 200ms).
	Poll time.Duration
}

// Line is one line as the container printed it: the entries of a split
// line joined.
type Line struct {
	Time   time.Time // of its first entry
	Stream Stream
	Text   []byte
}

// Copy prints the log at path to w, one line each, as opts say. Lines
// that do not parse (a file damaged by hand) are skipped. It returns
// ctx's error when ctx ends a Follow, nil otherwise unless reading or
// writing fails.
func Copy(ctx context.Context, w io.Writer, path string, opts ReadOptions) error {
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	bw := bufio.NewWriter(w)
	out := func(l Line) error {
		if opts.Timestamps {
			bw.Write(l.Time.UTC().AppendFormat(nil, timeFormat))
			bw.WriteByte(' ')
		}
		bw.Write(l.Text)
		return bw.WriteByte('\n')
	}
	keep := func(l Line) bool { return opts.Since.IsZero() || !l.Time.Before(opts.Since) }

	if _, err := Files(path); err != nil && !(opts.Follow && errors.Is(err, fs.ErrNotExist)) {
		return err
	}
	j := newJoiner()
	var tail []Line
	catchingUp := true
	emit := func(l Line) error {
		if !keep(l) {
			return nil
		}
		if catchingUp && opts.Tail > 0 {
			tail = append(tail, l)
			if len(tail) > opts.Tail {
				tail = tail[1:]
			}
			return nil
		}
		return out(l)
	}
	var (
		cur       *os.File
		curReader *bufio.Reader
		last      os.FileInfo // the file cur is, or was
	)
	defer func() {
		if cur != nil {
			cur.Close()
		}
	}()
	// step reads what is new: the rest of the file being read and, while
	// newer files exist, the file that follows it. Rotated files keep
	// their names, so the file after last is the first Files lists after
	// it.
	step := func() error {
		if cur != nil {
			if err := readEntries(curReader, j, emit, true); err != nil {
				return err
			}
		}
		for {
			next, err := newer(last, path)
			if err != nil || len(next) == 0 {
				return err
			}
			if cur != nil {
				// It has a successor: it is complete.
				if err := readEntries(curReader, j, emit, false); err != nil {
					return err
				}
				cur.Close()
				cur = nil
			}
			f, err := safefile.Open(next[0])
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // rotated away, or not created yet
				}
				return err
			}
			fi, err := f.Stat()
			if err != nil {
				f.Close()
				return err
			}
			// A rotation between the listing and the open makes path
			// another file than the one listed: look again.
			if again, err := newer(last, path); err != nil || len(again) == 0 || !sameFile(again[0], fi) {
				f.Close()
				continue
			}
			cur, curReader, last = f, bufio.NewReaderSize(f, 64<<10), fi
			if err := readEntries(curReader, j, emit, true); err != nil {
				return err
			}
		}
	}
	if err := step(); err != nil {
		return err
	}
	if !opts.Follow {
		if cur != nil {
			if err := readEntries(curReader, j, emit, false); err != nil {
				return err
			}
		}
		// Output that ended without a newline ends with a P entry.
		if err := j.flush(emit); err != nil {
			return err
		}
	}
	catchingUp = false
	for _, l := range tail {
		if err := out(l); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil || !opts.Follow {
		return err
	}
	tick := time.NewTicker(opts.Poll)
	defer tick.Stop()
	for {
		// Done is asked before the last look, so that what was written
		// before it said so is printed.
		done := opts.Done != nil && opts.Done()
		if err := step(); err != nil {
			return err
		}
		if done {
			if err := j.flush(emit); err != nil {
				return err
			}
			return bw.Flush()
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func sameFile(name string, fi os.FileInfo) bool {
	got, err := os.Stat(name)
	return err == nil && os.SameFile(got, fi)
}

// newer returns the files of the log at path written after file last,
// oldest first, path itself last: all of them when last is nil or was
// rotated away.
func newer(last os.FileInfo, path string) ([]string, error) {
	files, err := Files(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil || last == nil {
		return files, err
	}
	for i, name := range files {
		if fi, err := os.Stat(name); err == nil && os.SameFile(fi, last) {
			return files[i+1:], nil
		}
	}
	return files, nil
}

// readEntries reads entries from r to its end and hands every complete
// line to emit. With follow, an entry without its newline yet (the writer
// is in the middle of it) is left for the next read.
func readEntries(r *bufio.Reader, j *joiner, emit func(Line) error, follow bool) error {
	for {
		b, err := r.ReadBytes('\n')
		if len(b) > 0 && b[len(b)-1] != '\n' {
			if follow {
				// Give the half entry back by keeping it for the next
				// read: bufio cannot unread it, so the joiner holds it.
				j.half = append(j.half, b...)
				return nil
			}
		}
		if len(b) > 0 {
			if len(j.half) > 0 {
				b = append(j.half, b...)
				j.half = nil
			}
			if e, perr := Parse(b); perr == nil {
				if l, ok := j.add(e); ok {
					if err := emit(l); err != nil {
						return err
					}
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// joiner joins the P entries of a stream with the entry that ends them.
type joiner struct {
	open map[Stream]*Line
	half []byte // an entry read only in part
}

func newJoiner() *joiner { return &joiner{open: make(map[Stream]*Line)} }

func (j *joiner) add(e Entry) (Line, bool) {
	l := j.open[e.Stream]
	if l == nil {
		l = &Line{Time: e.Time, Stream: e.Stream}
	}
	l.Text = append(l.Text, e.Content...)
	if e.Partial {
		j.open[e.Stream] = l
		return Line{}, false
	}
	delete(j.open, e.Stream)
	return *l, true
}

// flush hands emit the lines whose last entry was a P entry.
func (j *joiner) flush(emit func(Line) error) error {
	for _, s := range []Stream{Stdout, Stderr} {
		if l := j.open[s]; l != nil {
			delete(j.open, s)
			if err := emit(*l); err != nil {
				return err
			}
		}
	}
	return nil
}

// Tail returns the last n lines of the log at path, oldest first.
func Tail(path string, n int) ([]string, error) {
	var buf bytes.Buffer
	if err := Copy(context.Background(), &buf, path, ReadOptions{Tail: n}); err != nil {
		return nil, err
	}
	s := bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
	if len(s) == 0 {
		return nil, nil
	}
	var out []string
	for _, l := range bytes.Split(s, []byte{'\n'}) {
		out = append(out, string(l))
	}
	return out, nil
}
