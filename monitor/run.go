package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/isoagent/isoagent/crilog"
)

// A Runtime makes the init process of a run.
type Runtime interface {
	// Start creates the process cfg describes, with its stdout and stderr
	// piped to the monitor. A failure is final: the monitor reports it and
	// ends.
	Start(ctx context.Context, cfg Config) (Process, error)
}

// A Process is a run's init process.
type Process interface {
	// PID is the process's id as the host numbers it.
	PID() int
	// Stdout and Stderr are its output; they end (io.EOF) once the
	// process and everything that shared them has exited.
	Stdout() io.Reader
	Stderr() io.Reader
	// Wait waits for the process to exit and returns its exit code and
	// when it exited. A wait that fails returns an error; the exit code
	// is then unknown.
	Wait(ctx context.Context) (code int, at time.Time, err error)
}

// ErrorClass is implemented by errors a Runtime returns that belong to a
// class the agent's driver tells apart (driver error classes by name:
// "not-found", "invalid-config", ...); the name reaches the agent with
// the message.
type ErrorClass interface{ ErrorClass() string }

// Options tune Run; zero values take the defaults.
type Options struct {
	// Buffer bounds, in bytes, the output read but not yet written to the
	// log; beyond it output is dropped rather than the process blocked
	// (default 8 MiB).
	Buffer int
	// Now tells the time (time.Now when nil).
	Now func() time.Time
	// Logger receives what the monitor itself has to say.
	Logger *slog.Logger
}

// handshake is the one line a monitor writes to its standard output at
// start.
type handshake struct {
	Started *Started `json:"started,omitempty"`
	Error   string   `json:"error,omitempty"`
	Class   string   `json:"class,omitempty"`
}

// Run is a monitor: it runs the process of the run in dir with rt until
// the process has exited and its output is written, and records the exit.
// It tells hello (the monitor's standard output, or nil) whether the
// process started, in one line. It returns an error when the process
// could not be started or the run cannot be held; the exit of a started
// process, whatever its code, is no error. ctx ends the wait for the
// process (its exit is then unknown) and is for tests: a monitor runs
// until its process exits.
func Run(ctx context.Context, dir string, rt Runtime, hello io.Writer, opts Options) error {
	if opts.Buffer <= 0 {
		opts.Buffer = 8 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	say := func(h handshake) {
		if hello == nil {
			return
		}
		b, _ := json.Marshal(h)
		hello.Write(append(b, '\n'))
	}
	fail := func(err error) error {
		h := handshake{Error: err.Error()}
		var c ErrorClass
		if errors.As(err, &c) {
			h.Class = c.ErrorClass()
		}
		say(h)
		return err
	}

	unlock, err := tryLock(filepath.Join(dir, lockFile))
	if err != nil {
		return fail(err)
	}
	defer unlock()
	cfg, err := ReadConfig(dir)
	if err != nil {
		return fail(err)
	}
	if _, err := ReadExit(dir); err == nil {
		return fail(fmt.Errorf("run %s has ended already: %w", dir, ErrRunning))
	}
	w, err := crilog.Create(LogPath(dir), crilog.Options{MaxSize: cfg.LogMaxSize, MaxFiles: cfg.LogMaxFiles, Now: opts.Now})
	if err != nil {
		return fail(err)
	}
	defer w.Close()

	p, err := rt.Start(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	st := Started{MonitorPID: os.Getpid(), PID: p.PID(), At: opts.Now().UTC()}
	if err := writeJSON(filepath.Join(dir, StartedFile), st); err != nil {
		log.Error("record the start", "err", err)
	}
	say(handshake{Started: &st})
	log.Info("init process started", "id", cfg.ID, "run", cfg.Run, "pid", st.PID)

	d := newDrain(w, opts.Buffer)
	var readers sync.WaitGroup
	readers.Go(func() { d.read(crilog.Stdout, p.Stdout()) })
	readers.Go(func() { d.read(crilog.Stderr, p.Stderr()) })
	written := make(chan struct{})
	go func() {
		defer close(written)
		d.write()
	}()

	code, at, werr := p.Wait(ctx)
	exit := Exit{Code: code, At: at.UTC()}
	if werr != nil {
		exit = Exit{Code: ExitUnknown, At: opts.Now().UTC(), Error: werr.Error()}
		log.Warn("wait for the init process", "err", werr)
	}
	// The output ends when the process and whatever inherited its pipes
	// have exited; what is in the pipes is read first.
	readers.Wait()
	d.close()
	<-written
	exit.Dropped = d.dropped.Load()
	if err := w.Close(); err != nil {
		log.Error("close the log", "err", err)
	}
	if err := writeJSON(filepath.Join(dir, ExitFile), exit); err != nil {
		return fmt.Errorf("record the exit: %w", err)
	}
	log.Info("init process exited", "id", cfg.ID, "run", cfg.Run, "code", exit.Code, "dropped", exit.Dropped)
	return nil
}

// drain moves output from the process's pipes to the log without ever
// blocking the reads: chunks read wait in a queue bounded in bytes, and
// what does not fit is dropped, counted and reported in the log.
type drain struct {
	w       *crilog.Writer
	limit   int64
	queue   chan chunk
	queued  atomic.Int64
	dropped atomic.Int64
	once    sync.Once
}

type chunk struct {
	stream crilog.Stream
	data   []byte
	// dropped is the bytes of this stream dropped just before data.
	dropped int64
}

func newDrain(w *crilog.Writer, limit int) *drain {
	return &drain{w: w, limit: int64(limit), queue: make(chan chunk, 4096)}
}

// read reads r to its end into the queue.
func (d *drain) read(s crilog.Stream, r io.Reader) {
	if r == nil {
		return
	}
	var lost int64
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if d.queued.Load()+int64(n) > d.limit {
				lost += int64(n)
				d.dropped.Add(int64(n))
			} else {
				c := chunk{stream: s, data: append([]byte(nil), buf[:n]...), dropped: lost}
				select {
				case d.queue <- c:
					d.queued.Add(int64(n))
					lost = 0
				default:
					lost += int64(n)
					d.dropped.Add(int64(n))
				}
			}
		}
		if err != nil {
			if lost > 0 {
				d.queue <- chunk{stream: s, dropped: lost}
			}
			return
		}
	}
}

// close ends the queue once the readers are done.
func (d *drain) close() { d.once.Do(func() { close(d.queue) }) }

// write writes the queue to the log, flushing whenever it has caught up.
func (d *drain) write() {
	lines := map[crilog.Stream]*crilog.LineWriter{
		crilog.Stdout: d.w.Lines(crilog.Stdout),
		crilog.Stderr: d.w.Lines(crilog.Stderr),
	}
	for c := range d.queue {
		l := lines[c.stream]
		if c.dropped > 0 {
			l.Close()
			d.w.Write(c.stream, false, fmt.Appendf(nil, "[isoagent: %d bytes of output dropped: the log could not keep up]", c.dropped))
		}
		if len(c.data) > 0 {
			l.Write(c.data)
			d.queued.Add(-int64(len(c.data)))
		}
		if len(d.queue) == 0 {
			d.w.Flush()
		}
	}
	for _, l := range lines {
		l.Close()
	}
	d.w.Flush()
}
