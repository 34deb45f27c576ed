package spec

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"time"

	"github.com/fsnotify/fsnotify"
)

// FileUpdate is a change of the file a FileWatcher follows.
type FileUpdate[T any] struct {
	// Value is the value now in force: the file's new content when it
	// loads, or the last good value when it does not.
	Value T
	// Err is why the file is unusable now (unreadable, invalid); nil when
	// the file's content is Value. While Err is set the last good value
	// stays in force.
	Err error
}

// FileWatchOptions tune a FileWatcher.
type FileWatchOptions struct {
	// What names the file in logs ("policy": "the policy file changed");
	// default "watched".
	What string
	// Debounce is the quiet period after a change notification before the
	// file is read, so an editor's several writes count once. Default
	// DefaultDebounce.
	Debounce time.Duration
	// Interval is how often the file is read regardless of notifications,
	// which bounds how long a lost notification goes unnoticed. Default
	// DefaultResync.
	Interval time.Duration
	// Poll disables change notifications: the file is only read every
	// Interval (for shares where notification does not work).
	Poll bool
	// Logger receives the watcher's logs. Default: discarded.
	Logger *slog.Logger
}

// A FileWatcher follows one file that the agent loads as a whole (the
// boundary policy) and reports when what it says changes, so a new
// content applies without a restart. It is the one-file sibling of the
// spec folder's Watcher, with the same debounce and resync rules: it
// watches the file's folder with change notifications (an editor's
// rename-over save, a ConfigMap's ..data swap and a symlink swap all show
// up there) and loads the file every Interval as well.
//
// What the file says is what load makes of it: a change that loads to a
// value deeply equal to the last one (a comment, spacing, the order of
// keys) is not reported. An edit that makes the file fail to load is
// reported once, with the last good value still in force, and its repair
// is reported again; the watcher never hands out a value load refused.
type FileWatcher[T any] struct {
	path    string
	load    func(path string) (T, error)
	opts    FileWatchOptions
	log     *slog.Logger
	last    T
	updates chan FileUpdate[T]
}

// NewFileWatcher returns a watcher of the file at path, which load reads
// and parses, and whose content at start was current (as load returned
// it). It starts nothing; call Run.
func NewFileWatcher[T any](path string, current T, load func(path string) (T, error), opts FileWatchOptions) *FileWatcher[T] {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultResync
	}
	if opts.What == "" {
		opts.What = "watched"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FileWatcher[T]{
		path:    path,
		load:    load,
		opts:    opts,
		log:     log.With(opts.What, path),
		last:    current,
		updates: make(chan FileUpdate[T], 1),
	}
}

// Updates returns the channel on which Run reports changes. Delivery never
// blocks the watcher: an update the consumer has not taken yet is replaced
// by a newer one. The channel is closed when Run returns.
func (w *FileWatcher[T]) Updates() <-chan FileUpdate[T] { return w.updates }

// Run watches the file until ctx is done and returns nil once its
// goroutines have exited. When change notifications cannot be set up it
// logs why and polls instead. Run may be called once.
func (w *FileWatcher[T]) Run(ctx context.Context) error {
	defer close(w.updates)
	var events <-chan fsnotify.Event
	var errs <-chan error
	if !w.opts.Poll {
		fw, err := fsnotify.NewWatcher()
		if err == nil {
			err = fw.Add(filepath.Dir(w.path))
			if err != nil {
				fw.Close()
			}
		}
		if err != nil {
			w.log.Warn("cannot watch the "+w.opts.What+" file's folder; reading the file every interval instead", "err", err, "interval", w.opts.Interval)
		} else {
			defer fw.Close()
			events, errs = fw.Events, fw.Errors
		}
	}
	ticker := time.NewTicker(w.opts.Interval)
	defer ticker.Stop()
	deb := debouncer{quiet: w.opts.Debounce, maxDelay: max(DefaultMaxDelay, w.opts.Debounce)}
	var timer *time.Timer
	var timerC <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// Read once now that the watch is set up: the file may have changed
	// since the caller loaded it, before any notification could be seen.
	lastErr := w.check("")
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			deb.add(TriggerEvent, time.Now())
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// An overflow or watch error may hide a change: read at once.
			w.log.Debug(w.opts.What+" watch error; reading the file", "err", err)
			deb.add(TriggerOverflow, time.Now())
		case <-ticker.C:
			if !deb.pending() {
				// A pending burst's read is of the whole file already.
				deb.add(TriggerResync, time.Now())
			}
		case <-timerC:
			timerC = nil
		}
		if _, _, ok := deb.fire(time.Now()); ok {
			lastErr = w.check(lastErr)
		}
		if deb.pending() && timerC == nil {
			d := time.Until(deb.due())
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			timerC = timer.C
		}
	}
}

// check reads the file and reports what changed since the last report. It
// returns the error text now in force ("" when the file is good).
func (w *FileWatcher[T]) check(lastErr string) string {
	v, err := w.load(w.path)
	what := w.opts.What
	if err != nil {
		msg := err.Error()
		if msg != lastErr {
			w.log.Error("the "+what+" file is unusable; the last good "+what+" stays in force", "err", msg)
			w.send(FileUpdate[T]{Value: w.last, Err: err})
		}
		return msg
	}
	switch {
	case !reflect.DeepEqual(v, w.last):
		w.log.Info("the " + what + " file changed; applying it")
		w.last = v
		w.send(FileUpdate[T]{Value: v})
	case lastErr != "":
		w.log.Info("the " + what + " file is valid again")
		w.send(FileUpdate[T]{Value: w.last})
	}
	return ""
}

// send delivers u, replacing an update not taken yet.
func (w *FileWatcher[T]) send(u FileUpdate[T]) { sendLatest(w.updates, u, nil) }
