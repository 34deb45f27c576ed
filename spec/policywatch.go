package spec

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"time"

	"github.com/fsnotify/fsnotify"
)

// PolicyUpdate is a change of the policy file seen by a PolicyWatcher.
type PolicyUpdate struct {
	// Policy is the policy now in force: the file's new content when it is
	// valid, or the last good policy when it is not.
	Policy *Policy
	// Err is why the file is unusable now (unreadable, invalid); nil when
	// the file's content is Policy. While Err is set the last good policy
	// stays in force.
	Err error
}

// PolicyWatchOptions tune a PolicyWatcher.
type PolicyWatchOptions struct {
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

// A PolicyWatcher follows the agent's policy file and reports when what it
// says changes, so a new policy applies without a restart. It watches the
// file's folder with change notifications (an editor's rename-over save,
// a ConfigMap's ..data swap and a symlink swap all show up there) and
// reads the file every Interval as well.
//
// A change that leaves the policy the same (a comment, spacing, the order
// of keys) is not reported. An edit that makes the file unreadable or
// invalid is reported once, with the last good policy still in force, and
// its repair is reported again; the watcher never hands out a policy that
// did not parse.
type PolicyWatcher struct {
	path    string
	opts    PolicyWatchOptions
	log     *slog.Logger
	last    *Policy
	updates chan PolicyUpdate
}

// NewPolicyWatcher returns a watcher of the policy file at path whose
// content at start was current (as LoadPolicy returned it). It starts
// nothing; call Run.
func NewPolicyWatcher(path string, current *Policy, opts PolicyWatchOptions) *PolicyWatcher {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultResync
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PolicyWatcher{
		path:    path,
		opts:    opts,
		log:     log.With("policy", path),
		last:    current,
		updates: make(chan PolicyUpdate, 1),
	}
}

// Updates returns the channel on which Run reports changes. Delivery never
// blocks the watcher: an update the consumer has not taken yet is replaced
// by a newer one. The channel is closed when Run returns.
func (w *PolicyWatcher) Updates() <-chan PolicyUpdate { return w.updates }

// Run watches the file until ctx is done and returns nil once its
// goroutines have exited. When change notifications cannot be set up it
// logs why and polls instead. Run may be called once.
func (w *PolicyWatcher) Run(ctx context.Context) error {
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
			w.log.Warn("cannot watch the policy file's folder; reading the file every interval instead", "err", err, "interval", w.opts.Interval)
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
			w.log.Debug("policy watch error; reading the file", "err", err)
			deb.add(TriggerOverflow, time.Now())
		case <-ticker.C:
			deb.add(TriggerResync, time.Now())
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
func (w *PolicyWatcher) check(lastErr string) string {
	p, err := LoadPolicy(w.path)
	if err != nil {
		msg := err.Error()
		if msg != lastErr {
			w.log.Error("the policy file is unusable; the last good policy stays in force", "err", msg)
			w.send(PolicyUpdate{Policy: w.last, Err: err})
		}
		return msg
	}
	switch {
	case !samePolicy(p, w.last):
		w.log.Info("the policy file changed; applying it")
		w.last = p
		w.send(PolicyUpdate{Policy: p})
	case lastErr != "":
		w.log.Info("the policy file is valid again")
		w.send(PolicyUpdate{Policy: w.last})
	}
	return ""
}

func samePolicy(a, b *Policy) bool {
	if a == nil || b == nil {
		return a == b
	}
	return reflect.DeepEqual(*a, *b)
}

// send delivers u, replacing an update not taken yet.
func (w *PolicyWatcher) send(u PolicyUpdate) { sendLatest(w.updates, u, nil) }
