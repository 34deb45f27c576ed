package crilog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// clock returns a clock that starts at a fixed time and ticks a
// millisecond per call.
func clock() func() time.Time {
	t := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Millisecond)
		return t
	}
}

func TestStreamsBecomeCRIEntries(t *testing.T) {
	long := strings.Repeat("x", 2*MaxLineSize+5)
	tests := []struct {
		name   string
		stream Stream
		writes []string
		want   []string // "stream tag content" per entry
	}{
		{"lines", Stdout, []string{"hello\nworld\n"}, []string{"stdout F hello", "stdout F world"}},
		{"a line in pieces", Stdout, []string{"hel", "lo", "\n"}, []string{"stdout F hello"}},
		{"carriage returns", Stderr, []string{"a\r\nb\r\n"}, []string{"stderr F a", "stderr F b"}},
		{"empty line", Stdout, []string{"\n"}, []string{"stdout F "}},
		{"no newline at the end", Stdout, []string{"done\nhalf"}, []string{"stdout F done", "stdout P half"}},
		{"a long line is split as containerd splits it", Stdout, []string{long + "\n"}, []string{
			"stdout P " + long[:MaxLineSize], "stdout P " + long[MaxLineSize:2*MaxLineSize], "stdout F xxxxx"}},
		{"a long line written in pieces", Stdout, []string{long[:100], long[100:] + "\n"}, []string{
			"stdout P " + long[:MaxLineSize], "stdout P " + long[MaxLineSize:2*MaxLineSize], "stdout F xxxxx"}},
		{"exactly the limit is one entry", Stdout, []string{long[:MaxLineSize] + "\n"}, []string{"stdout F " + long[:MaxLineSize]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "container.log")
			w, err := Create(path, Options{Now: clock()})
			if err != nil {
				t.Fatal(err)
			}
			l := w.Lines(tt.stream)
			for _, s := range tt.writes {
				if n, err := l.Write([]byte(s)); err != nil || n != len(s) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("%d entries, want %d:\n%s", len(lines), len(tt.want), data)
			}
			prev := time.Time{}
			for i, line := range lines {
				ts, rest, _ := strings.Cut(line, " ")
				if rest != tt.want[i] {
					t.Errorf("entry %d = %.60q, want %.60q", i, rest, tt.want[i])
				}
				at, err := time.Parse(time.RFC3339Nano, ts)
				if err != nil || !strings.HasSuffix(ts, "Z") || !at.After(prev) {
					t.Errorf("entry %d timestamp %q: %v (want RFC 3339 UTC, after the one before)", i, ts, err)
				}
				prev = at
				if _, err := Parse([]byte(line)); err != nil {
					t.Errorf("Parse(entry %d) = %v", i, err)
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		line    string
		want    Entry
		wantErr bool
	}{
		{"2016-10-06T00:17:09.669794202Z stdout F log content 1\n", Entry{Stream: Stdout, Content: []byte("log content 1")}, false},
		{"2016-10-06T00:17:09.669794203Z stderr P part", Entry{Stream: Stderr, Partial: true, Content: []byte("part")}, false},
		{"2016-10-06T00:17:09Z stdout F:x y", Entry{Stream: Stdout, Content: []byte("y")}, false},
		{"2016-10-06T02:17:09.5+02:00 stdout F ", Entry{Stream: Stdout, Content: []byte{}}, false},
		{"nonsense", Entry{}, true},
		{"2016-10-06T00:17:09Z stdin F x", Entry{}, true},
		{"2016-10-06T00:17:09Z stdout X x", Entry{}, true},
		{"yesterday stdout F x", Entry{}, true},
	}
	for _, tt := range tests {
		e, err := Parse([]byte(tt.line))
		if tt.wantErr {
			if err == nil {
				t.Errorf("Parse(%q) = %+v, want an error", tt.line, e)
			}
			continue
		}
		if err != nil || e.Stream != tt.want.Stream || e.Partial != tt.want.Partial || !bytes.Equal(e.Content, tt.want.Content) || e.Time.IsZero() {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.line, e, err, tt.want)
		}
	}
}

// writeLines writes n numbered lines to a new log with opts and returns
// its path.
func writeLines(t *testing.T, opts Options, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "container.log")
	w, err := Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		s := Stdout
		if i%3 == 2 {
			s = Stderr
		}
		if err := w.Write(s, false, fmt.Appendf(nil, "line %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRotationBoundsTheFiles(t *testing.T) {
	const entry = len("2026-03-01T12:00:00.001Z stdout F line 100\n")
	path := writeLines(t, Options{MaxSize: 10 * int64(entry), MaxFiles: 3, Now: clock()}, 1000)
	files, err := Files(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files[2] != path || !strings.HasPrefix(files[0], path+".") {
		t.Fatalf("Files = %v, want two rotated files and the log itself", files)
	}
	var kept int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 10*int64(entry) {
			t.Errorf("%s is %d bytes, more than the limit %d", f, fi.Size(), 10*entry)
		}
		kept += fi.Size()
	}
	written, err := Written(path)
	if err != nil {
		t.Fatal(err)
	}
	var all int64
	now := clock()
	for i := range 1000 {
		s := Stdout
		if i%3 == 2 {
			s = Stderr
		}
		all += int64(len(appendEntry(nil, now(), s, false, fmt.Appendf(nil, "line %d", i))))
	}
	if written != all || kept >= all {
		t.Errorf("Written = %d, kept %d; want every byte written (%d) counted, most of it rotated away", written, kept, all)
	}
	got, err := Tail(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "line 997,line 998,line 999" {
		t.Errorf("Tail = %q", got)
	}
	// Reopening appends, and keeps counting.
	w, err := Create(path, Options{MaxSize: 10 * int64(entry), MaxFiles: 3, Now: clock()})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(Stdout, false, []byte("line 1000"))
	w.Close()
	if n, _ := Written(path); n <= written {
		t.Errorf("Written after one more line = %d, want more than %d", n, written)
	}
}

func TestCopy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	now := clock()
	w, err := Create(path, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	l := w.Lines(Stdout)
	fmt.Fprint(l, "one\ntwo\n")
	e := w.Lines(Stderr)
	fmt.Fprint(e, "oops\n")
	fmt.Fprint(l, strings.Repeat("y", MaxLineSize+1)+"\nfour\nno newline")
	l.Close()
	w.Close()
	first := time.Date(2026, 3, 1, 12, 0, 0, 1e6, time.UTC)
	tests := []struct {
		name string
		opts ReadOptions
		want string
	}{
		{"everything", ReadOptions{}, "one\ntwo\noops\n" + strings.Repeat("y", MaxLineSize+1) + "\nfour\nno newline\n"},
		{"tail", ReadOptions{Tail: 2}, "four\nno newline\n"},
		{"since", ReadOptions{Since: first.Add(2 * time.Millisecond), Tail: 3}, strings.Repeat("y", MaxLineSize+1) + "\nfour\nno newline\n"},
		{"timestamps", ReadOptions{Tail: 1, Timestamps: true}, "2026-03-01T12:00:00.007Z no newline\n"},
		{"tail larger than the log", ReadOptions{Tail: 100, Since: first.Add(time.Millisecond)}, "two\noops\n" + strings.Repeat("y", MaxLineSize+1) + "\nfour\nno newline\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Copy(t.Context(), &buf, path, tt.opts); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want {
				t.Errorf("Copy printed %.200q, want %.200q", buf.String(), tt.want)
			}
		})
	}
	if err := Copy(t.Context(), &bytes.Buffer{}, filepath.Join(t.TempDir(), "none.log"), ReadOptions{}); !os.IsNotExist(err) {
		t.Errorf("Copy of a log that does not exist = %v, want not-exist", err)
	}
}

// A follower sees every line once and in order while the writer rotates
// under it, and stops once the writer is done.
func TestFollowAcrossRotations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	w, err := Create(path, Options{MaxSize: 2000, MaxFiles: 50})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	var done atomic.Bool
	out := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		var buf bytes.Buffer
		err := Copy(context.Background(), &buf, path, ReadOptions{Follow: true, Done: done.Load, Poll: time.Millisecond})
		out <- buf.String()
		errc <- err
	}()
	for i := range n {
		fmt.Fprintf(w.Lines(Stdout), "line %d\n", i)
		if i%50 == 0 {
			w.Flush()
		}
	}
	w.Close()
	done.Store(true)
	got := <-out
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("follower printed %d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		if l != fmt.Sprintf("line %d", i) {
			t.Fatalf("line %d = %q", i, l)
		}
	}
}

// TestWrittenNeverCountsARotationTwice reads Written while a Writer
// rotates its log as fast as it can: a count may miss a file being
// rotated, but never exceeds what was written, and the last one is exact.
func TestWrittenNeverCountsARotationTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	line := []byte("a line of output")
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC) // every entry the same size
	entry := int64(len(appendEntry(nil, at, Stdout, false, line)))
	w, err := Create(path, Options{MaxSize: 3 * entry, MaxFiles: 2, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	var written atomic.Int64 // entries whose Write returned
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			if err := w.Write(Stdout, false, line); err != nil {
				t.Error(err)
				return
			}
			w.Flush()
			written.Add(1)
		}
	}()
	reads := 0
	for running := true; running; reads++ {
		select {
		case <-done:
			running = false
		default:
		}
		n, err := Written(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		ceiling := written.Load() + 1 // one Write may be on its way
		if n > ceiling*entry {
			t.Errorf("Written = %d during rotations: more than the %d entries (%d bytes) written", n, ceiling, ceiling*entry)
		}
	}
	w.Close()
	if n, err := Written(path); err != nil || n != 1000*entry {
		t.Errorf("Written at the end = %d, %v; want %d", n, err, 1000*entry)
	}
	t.Logf("%d reads during the writes", reads)
}

// TestRotatedCountStaysSmall rotates a log thousands of times: the count
// of what was rotated away stays exact, and its file is compacted rather
// than growing with every rotation.
func TestRotatedCountStaysSmall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "container.log")
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	line := []byte("x")
	entry := int64(len(appendEntry(nil, at, Stdout, false, line)))
	w, err := Create(path, Options{MaxSize: entry, MaxFiles: 2, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	for range n {
		if err := w.Write(Stdout, false, line); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := Written(path); err != nil || got != n*entry {
		t.Errorf("Written = %d, %v; want %d", got, err, n*entry)
	}
	fi, err := os.Stat(path + rotatedSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > rotatedCompactAt+32 {
		t.Errorf("the count file is %d bytes after %d rotations, want it compacted below %d", fi.Size(), n-1, rotatedCompactAt)
	}
}
