package spec

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/isoagent/isoagent/internal/safefile"
)

// Trigger says what made a Watcher rescan its folder. The values are used
// as metric label values.
type Trigger string

// Triggers of a rescan.
const (
	// TriggerEvent is a change notification (or, when polling, a change
	// found by comparing the folder with the previous poll).
	TriggerEvent Trigger = "event"
	// TriggerResync is the periodic rescan, and the first read at start.
	TriggerResync Trigger = "resync"
	// TriggerOverflow is an event overflow or another watcher error:
	// events may have been lost, so every file is read again.
	TriggerOverflow Trigger = "overflow"
)

// Triggers returns every Trigger, so metric series can be initialised.
func Triggers() []Trigger { return []Trigger{TriggerEvent, TriggerResync, TriggerOverflow} }

// Defaults of WatchOptions.
const (
	DefaultDebounce       = 100 * time.Millisecond
	DefaultMaxDelay       = time.Second
	DefaultResync         = 30 * time.Second
	DefaultFullResync     = 10 * time.Minute
	DefaultGitLockPoll    = 50 * time.Millisecond
	DefaultGitLockMaxWait = 30 * time.Second
)

// SnapshotLoader reads a spec folder. *Loader satisfies it. Load is called
// from the Watcher's goroutine only, never concurrently.
type SnapshotLoader interface {
	Load() (*Snapshot, error)
}

// A FullReloader can re-read every file of its folder, whatever the files'
// sizes and modification times, while keeping its last-known-good specs.
// The Watcher uses it after an event overflow, when a change may have gone
// unnoticed; a loader without it gets Load instead.
type FullReloader interface {
	Reload() (*Snapshot, error)
}

// A PathLoader can read only the paths change notifications name
// (slash-separated, relative to the folder), taking every other file as
// its last read left it; *Loader is one (see Loader.LoadPaths). The
// Watcher gives it the paths of a burst of events; a loader without it
// gets Load.
type PathLoader interface {
	LoadPaths(paths []string) (*Snapshot, error)
}

// A Resyncer can tell an unchanged file without reading it, reliably
// enough for the periodic resync: *Loader does, by each file's
// safefile.Stamp (see Loader.Resync). The Watcher's resync calls Resync,
// and a full re-read (FullReloader) only every WatchOptions.FullResync; a
// loader without it is re-read in full at every resync.
type Resyncer interface {
	Resync() (*Snapshot, error)
}

// WatchOptions tune a Watcher. The zero value watches with change
// notifications and the defaults above.
type WatchOptions struct {
	// Debounce is the quiet period: the folder is read once no change has
	// arrived for this long. Default DefaultDebounce.
	Debounce time.Duration
	// MaxDelay caps the wait after the first change of a burst, so a
	// folder that keeps changing is still read. Default DefaultMaxDelay.
	MaxDelay time.Duration
	// Resync is the interval of the periodic rescan, which looks at every
	// file and so bounds how long a lost change notification can go
	// unnoticed: a Resyncer reads the files whose Stamp changed, another
	// loader re-reads every file. Default DefaultResync.
	Resync time.Duration
	// FullResync is the interval of the full re-read of every file by a
	// Resyncer that is also a FullReloader, the last line of defence
	// against a change its Stamps cannot tell. Default DefaultFullResync.
	FullResync time.Duration
	// Poll, when positive, compares the folder with its previous state at
	// this interval instead of using change notifications (the
	// --watch=poll mode, for shares where notification does not work).
	Poll time.Duration
	// GitLockPoll is how often the folder's .git/index.lock is checked
	// while a git operation is in progress. Default DefaultGitLockPoll.
	GitLockPoll time.Duration
	// GitLockMaxWait bounds the wait for a git operation; after it the
	// folder is read anyway and a warning logged (a crashed git leaves its
	// lock behind). Default DefaultGitLockMaxWait.
	GitLockMaxWait time.Duration
	// Logger receives the watcher's logs. Default: discarded.
	Logger *slog.Logger
	// OnEvent, if set, is called for every watch event that asks for a
	// rescan, with its trigger: TriggerEvent for a change notification,
	// TriggerOverflow for an overflow or watcher error, TriggerResync for a
	// resync tick. It runs on the Watcher's goroutine and must not block.
	OnEvent func(Trigger)
	// OnRescan, if set, is called for every rescan of the folder, with the
	// trigger it is reported under. Same rules as OnEvent.
	OnRescan func(Trigger)
	// StallAfter is how long a read of the folder may run, and how long
	// may pass without one finishing, before Health reports the Watcher
	// stalled. Default: three resync intervals, at least two minutes.
	StallAfter time.Duration
}

// Update is a snapshot, or a failure to read the folder, delivered by a
// Watcher.
type Update struct {
	// Snapshot is the folder's content; nil when Err reports a failure and
	// no snapshot read before it is still waiting to be taken.
	Snapshot *Snapshot
	// Err, when set, says the folder could not be read (it is missing, not
	// a folder, or unreadable): the consumer keeps the desired state it has
	// and can show why. It is delivered once per distinct error; the next
	// successful read is delivered, with Err nil, even when its snapshot
	// declares what the last one did.
	Err error
	// Trigger is what made the Watcher read the folder.
	Trigger Trigger
	// SeenAt is when the first change that this snapshot reflects was
	// noticed (the first event of the burst, or the start of the rescan
	// that found it): the start of a convergence-time measurement.
	SeenAt time.Time
}

// A Watcher follows a spec folder and delivers a new Snapshot whenever its
// content changes: it watches the folder and every subfolder with change
// notifications (or polls, see WatchOptions.Poll), and the folder's parent
// too, so that a symlink swap of the folder itself (git-sync publishing a
// new worktree) or the folder's removal and re-creation is seen and
// followed. Bursts of changes are debounced; while a git operation is in
// progress in the folder (.git/index.lock exists) the Watcher waits for it
// to finish; a periodic resync re-reads every file anyway. A missing folder, or a
// failing Load, is logged, delivered as an Update with Err and waited out:
// no snapshot is delivered for it, so the consumer keeps what it had.
//
// A change that the loader holds back until it settles (a file emptied,
// cut short or removed; see Loader) is read again once it may have: the
// snapshot's SettleAt.
//
// Names of editor leftovers (ending in "~", ".swp", ".swx", ".tmp", ".bak",
// or "#...#") do not cause rescans. Subfolders with names Ignored skips
// (.git, a ConfigMap's ..data) are not watched; the spec loader ignores
// them too. Symlinked subfolders are not followed.
type Watcher struct {
	dir     string
	loader  SnapshotLoader
	opts    WatchOptions
	log     *slog.Logger
	updates chan Update

	// Progress, for Health: Unix nanoseconds of the start of the read
	// in progress (0 when none is) and of the end of the last one (or
	// of NewWatcher).
	readingSince atomic.Int64
	lastRead     atomic.Int64
}

// NewWatcher returns a Watcher that reads dir with loader. It starts
// nothing; call Run.
func NewWatcher(dir string, loader SnapshotLoader, opts WatchOptions) *Watcher {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	if opts.MaxDelay < opts.Debounce {
		opts.MaxDelay = opts.Debounce
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	if opts.FullResync <= 0 {
		opts.FullResync = DefaultFullResync
	}
	if opts.GitLockPoll <= 0 {
		opts.GitLockPoll = DefaultGitLockPoll
	}
	if opts.GitLockMaxWait <= 0 {
		opts.GitLockMaxWait = DefaultGitLockMaxWait
	}
	if opts.StallAfter <= 0 {
		opts.StallAfter = max(3*opts.Resync, 2*time.Minute)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{
		dir:     dir,
		loader:  loader,
		opts:    opts,
		log:     log.With("dir", dir),
		updates: make(chan Update, 1),
	}
	w.lastRead.Store(time.Now().UnixNano())
	return w
}

// Health returns nil while the Watcher keeps reading its folder, and an
// error saying why not once a read has been running, or none has
// finished, for longer than WatchOptions.StallAfter: a read that cannot
// finish (a file system that hangs) stops the agent from following its
// folder, which a liveness probe should see. It is safe to call from any
// goroutine.
func (w *Watcher) Health() error {
	now := time.Now()
	if since := w.readingSince.Load(); since != 0 {
		if d := now.Sub(time.Unix(0, since)); d > w.opts.StallAfter {
			return fmt.Errorf("the spec folder reader has been reading %s for %v, longer than %v: a file or the file system does not answer", w.dir, d.Round(time.Second), w.opts.StallAfter)
		}
		return nil
	}
	if d := now.Sub(time.Unix(0, w.lastRead.Load())); d > w.opts.StallAfter {
		return fmt.Errorf("the spec folder reader has not finished a read of %s for %v, longer than %v", w.dir, d.Round(time.Second), w.opts.StallAfter)
	}
	return nil
}

// Updates returns the channel on which Run delivers snapshots, and
// failures to read the folder (Update.Err). The first snapshot is the
// folder as found at start (an empty folder included); after that, only
// snapshots that differ from the previous one are sent. Delivery never
// blocks the Watcher: when the consumer has not taken the previous update
// yet, the newer one replaces it, keeping the earlier SeenAt. The channel
// is closed when Run returns.
func (w *Watcher) Updates() <-chan Update { return w.updates }

// Run watches the folder until ctx is done, then returns nil after every
// goroutine it started has exited. It returns an error only when it cannot
// start. Run may be called once.
func (w *Watcher) Run(ctx context.Context) error {
	defer close(w.updates)
	abs, err := filepath.Abs(w.dir)
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.dir, err)
	}
	r := &watchRun{w: w, dir: abs, deb: debouncer{quiet: w.opts.Debounce, maxDelay: w.opts.MaxDelay}}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w.opts.Poll <= 0 {
		fw, err := fsnotify.NewWatcher()
		if err != nil {
			return fmt.Errorf("watch %s: %w", w.dir, err)
		}
		// Close waits for fsnotify's reading goroutine to exit.
		defer fw.Close()
		r.fw = fw
		r.watched = make(map[string]bool)
		events, errs = fw.Events, fw.Errors
	}
	return r.loop(ctx, events, errs)
}

// watchRun is the state of one Run, owned by Run's goroutine.
type watchRun struct {
	w   *Watcher
	dir string // absolute, unresolved: may be a symlink
	fw  *fsnotify.Watcher
	deb debouncer

	root     string          // dir with symlinks resolved, as last watched; "" when missing
	resolved bool            // root has been set once
	watched  map[string]bool // folders this run has added to fw
	dirty    bool            // the watched set may be out of date

	pollSum  uint64 // fingerprint of the folder at the last poll
	pollSeen bool

	lockSince time.Time // when the current wait for .git/index.lock began
	last      *Snapshot // last snapshot delivered
	lastErr   string    // last Load error logged, to log a repeat quietly
	loaded    bool      // a snapshot was delivered: the start-up load is done

	want     readWant  // what the next rescan must read
	lastFull time.Time // when a Resyncer last re-read every file

	// A read again once held-back changes may have settled: when, and
	// the trigger and SeenAt of the rescan that found them.
	settleAt      time.Time
	settleTrigger Trigger
	settleSeenAt  time.Time
}

func (r *watchRun) loop(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error) error {
	o := &r.w.opts
	now := time.Now()
	r.syncWatches()
	if o.Poll > 0 {
		r.pollSum, r.pollSeen = r.fingerprint(), true
	}
	r.want.full = true // the first read is a full one
	r.deb.add(TriggerResync, now)
	nextResync := now.Add(o.Resync)
	nextPoll := now.Add(o.Poll)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now = time.Now()
		if !now.Before(nextResync) {
			r.event(TriggerResync, now)
			nextResync = now.Add(o.Resync)
		}
		if o.Poll > 0 && !now.Before(nextPoll) {
			r.poll(now)
			nextPoll = now.Add(o.Poll)
			if r.deb.pending() {
				// Poll faster while a burst settles, so that a change
				// during the quiet period extends it, as an event would.
				nextPoll = now.Add(min(o.Poll, max(o.Debounce/2, time.Millisecond)))
			}
		}
		if !r.settleAt.IsZero() && !now.Before(r.settleAt) && !r.deb.pending() {
			if r.gitBusy(now) {
				r.settleAt = now.Add(o.GitLockPoll)
			} else {
				t, seenAt := r.settleTrigger, r.settleSeenAt
				r.settleAt = time.Time{}
				r.rescan(t, seenAt)
			}
		}
		wake := nextResync
		if o.Poll > 0 && nextPoll.Before(wake) {
			wake = nextPoll
		}
		if r.deb.pending() {
			due := r.deb.due()
			if !now.Before(due) {
				if r.gitBusy(now) {
					due = now.Add(o.GitLockPoll)
				} else {
					t, seenAt, _ := r.deb.fire(now)
					r.rescan(t, seenAt)
					if r.deb.pending() {
						// A resync that waited for the burst is due now.
						due = r.deb.due()
					}
				}
			}
			if r.deb.pending() {
				wake = earlier(wake, due)
			}
		}
		if !r.settleAt.IsZero() {
			// Set by a rescan just now, possibly.
			wake = earlier(wake, r.settleAt)
		}
		timer.Reset(max(time.Until(wake), 0))

		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			r.fsEvent(ev)
		case err, ok := <-errs:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				r.w.log.Warn("change notifications overflowed; rescanning the whole folder")
			} else {
				r.w.log.Warn("change notification error; rescanning the whole folder", "err", err)
			}
			r.dirty = true
			r.event(TriggerOverflow, time.Now())
		case <-timer.C:
		}
	}
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// event records a watch event asking for a rescan. A change notification
// adds the paths it names to r.want itself; the other triggers ask for
// more here.
func (r *watchRun) event(t Trigger, now time.Time) {
	if r.w.opts.OnEvent != nil {
		r.w.opts.OnEvent(t)
	}
	switch t {
	case TriggerResync:
		r.want.resync = true
	case TriggerOverflow:
		r.want.full = true
	}
	r.deb.add(t, now)
}

// readWant is what the next rescan must read: the paths change
// notifications named, the whole folder (walk), every file again (full),
// or what the periodic resync reads.
type readWant struct {
	paths  map[string]struct{}
	walk   bool
	full   bool
	resync bool
}

// maxPaths is how many named paths a rescan reads one by one; a burst
// naming more (a checkout, a folder copied in) walks the folder, which
// lists each folder once.
const maxPaths = 64

// named records a change of path (absolute) that a notification named.
func (r *watchRun) named(path string) {
	if r.want.walk {
		return
	}
	root := r.root
	if r.fw == nil {
		// Not following the folder with notifications (tests drive the
		// loop with events of their own): resolve it now.
		root, _ = filepath.EvalSymlinks(r.dir)
	}
	rel, err := filepath.Rel(root, path)
	if root == "" || err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		r.want.walk = true // not a path in the folder as last resolved
		return
	}
	if r.want.paths == nil {
		r.want.paths = make(map[string]struct{})
	}
	r.want.paths[filepath.ToSlash(rel)] = struct{}{}
	if len(r.want.paths) > maxPaths {
		r.want.walk, r.want.paths = true, nil
	}
}

// fsEvent handles one change notification.
func (r *watchRun) fsEvent(ev fsnotify.Event) {
	r.w.log.Debug("change notification", "path", ev.Name, "op", ev.Op)
	if ev.Name != r.dir && filepath.Dir(ev.Name) == filepath.Dir(r.dir) {
		// A sibling of the folder, seen through the parent's watch.
		return
	}
	if ev.Name == r.dir {
		// The folder itself appeared, vanished or was swapped for
		// another symlink target: follow it now, so that writes into
		// the new tree extend the quiet period.
		r.syncWatches()
		r.want.walk = true
	} else if editorLeftover(filepath.Base(ev.Name)) {
		return
	} else {
		if ev.Has(fsnotify.Create) {
			if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() && !Ignored(fi.Name()) {
				r.addTree(ev.Name)
			}
		} else if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			if r.watched[ev.Name] {
				r.dropTree(ev.Name)
			}
		}
		r.named(ev.Name)
	}
	r.event(TriggerEvent, time.Now())
}

// syncWatches makes the watched set match the folder as it is now: the
// parent of the folder, and the folder (symlinks resolved) with every
// subfolder. It is a no-op when polling.
func (r *watchRun) syncWatches() {
	r.dirty = false
	if r.fw == nil {
		return
	}
	want := make(map[string]bool)
	parent := filepath.Dir(r.dir)
	if parent != r.dir {
		want[parent] = true
	}
	root, err := filepath.EvalSymlinks(r.dir)
	if err != nil {
		root = ""
		if !errors.Is(err, fs.ErrNotExist) {
			r.w.log.Warn("cannot resolve the spec folder", "err", err)
		}
	} else {
		for _, d := range watchTree(root) {
			want[d] = true
		}
	}
	if root != r.root || !r.resolved {
		switch {
		case root == "":
			r.w.log.Warn("spec folder is missing; waiting for it")
		case r.resolved:
			r.w.log.Info("spec folder now resolves to a new target", "target", root)
		}
		r.root, r.resolved = root, true
	}
	for d := range r.watched {
		if !want[d] {
			// The kernel may have dropped the watch with the folder.
			_ = r.fw.Remove(d)
			delete(r.watched, d)
		}
	}
	// fsnotify drops watches of removed folders on its own; re-add
	// whatever it no longer has.
	have := make(map[string]bool)
	for _, d := range r.fw.WatchList() {
		have[d] = true
	}
	for d := range want {
		if !have[d] {
			delete(r.watched, d)
		}
		if !r.watched[d] && r.add(d) && d != parent {
			r.addTree(d)
			// No notification names what is in a folder watched only
			// now: the next read walks.
			r.want.walk = true
		}
	}
}

// addTree watches a folder created after the last sync, and its
// subfolders. A subfolder made between the walk and the watch of its
// parent sends no event to anyone (mkdir -p, a recreated tree), so every
// folder newly watched is walked again after its watch is in place, until
// a walk finds nothing new.
func (r *watchRun) addTree(dir string) {
	pending := []string{dir}
	for len(pending) > 0 {
		d := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		for _, sub := range watchTree(d) {
			if !r.watched[sub] && r.add(sub) {
				pending = append(pending, sub)
			}
		}
	}
}

// dropTree stops watching a folder that was removed or renamed away, and
// its subfolders, at once: on Windows an open watch handle keeps a deleted
// folder pending, so its parent could not be deleted while we hold it. A
// renamed folder is watched again under its new name by its Create event.
func (r *watchRun) dropTree(dir string) {
	prefix := dir + string(filepath.Separator)
	for d := range r.watched {
		if d == dir || strings.HasPrefix(d, prefix) {
			// It may be gone from fsnotify already, with the folder.
			_ = r.fw.Remove(d)
			delete(r.watched, d)
		}
	}
	r.dirty = true
}

// add watches dir and reports whether it now is watched.
func (r *watchRun) add(dir string) bool {
	// 64 KiB is the largest ReadDirectoryChangesW buffer that works on
	// network shares; other backends ignore the option.
	if err := r.fw.AddWith(dir, fsnotify.WithBufferSize(64<<10)); err != nil {
		// A folder removed since the walk is not worth a warning; its
		// removal is an event of its own.
		if !errors.Is(err, fs.ErrNotExist) {
			r.w.log.Warn("cannot watch folder", "path", dir, "err", err)
		}
		return false
	}
	r.watched[dir] = true
	return true
}

// watchTree lists root and its subfolders (absolute paths), leaving out
// those with Ignored names and not following symlinks.
func watchTree(root string) []string {
	fr, err := safefile.OpenRoot(root)
	if err != nil {
		return nil
	}
	defer fr.Close()
	dirs := []string{root}
	// Unreadable or vanished subfolders: watch what can be watched.
	_ = walkFolder(fr, func(rel string, d fs.DirEntry, _ *safefile.Root) {
		if d.IsDir() {
			dirs = append(dirs, filepath.Join(root, filepath.FromSlash(rel)))
		}
	}, func(string, error) {})
	return dirs
}

// poll compares the folder with the previous poll and records a change.
func (r *watchRun) poll(now time.Time) {
	sum := r.fingerprint()
	if r.pollSeen && sum == r.pollSum {
		return
	}
	r.pollSum, r.pollSeen = sum, true
	r.want.walk = true // a poll does not tell where
	r.event(TriggerEvent, now)
}

// fingerprint hashes what a rescan depends on: where the folder resolves
// to, and the name, size, modification time and mode of every entry in it
// that is not Ignored (links inside the folder followed for files, so a
// ConfigMap's ..data swap shows).
func (r *watchRun) fingerprint() uint64 {
	h := fnv.New64a()
	root, err := filepath.EvalSymlinks(r.dir)
	var fr *safefile.Root
	if err == nil {
		fr, err = safefile.OpenRoot(root)
	}
	if err != nil {
		fmt.Fprintf(h, "missing\x00")
		return h.Sum64()
	}
	defer fr.Close()
	fmt.Fprintf(h, "%s\x00", root)
	_ = walkFolder(fr, func(rel string, d fs.DirEntry, _ *safefile.Root) {
		info := d.Info // what the listing says, unless a link is to follow
		if d.Type()&fs.ModeSymlink != 0 {
			info = func() (fs.FileInfo, error) { return fr.Stat(rel) }
		}
		fi, err := info()
		if err != nil {
			fmt.Fprintf(h, "%s\x00gone\x00", rel)
			return
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00", rel, fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
	}, func(rel string, _ error) {
		fmt.Fprintf(h, "%s\x00error\x00", rel)
	})
	return h.Sum64()
}

// gitBusy reports whether a git operation holds the folder's index lock
// and the wait for it has not run out; it keeps the wait's start.
func (r *watchRun) gitBusy(now time.Time) bool {
	lock := r.gitIndexLock()
	if lock == "" {
		if !r.lockSince.IsZero() {
			r.w.log.Debug("git operation finished", "waited", now.Sub(r.lockSince))
		}
		r.lockSince = time.Time{}
		return false
	}
	if r.lockSince.IsZero() {
		r.lockSince = now
		r.w.log.Info("git operation in progress; waiting before reading", "lock", lock)
	}
	if now.Sub(r.lockSince) < r.w.opts.GitLockMaxWait {
		return true
	}
	r.w.log.Warn("git index lock still present; reading the folder anyway", "lock", lock, "waited", now.Sub(r.lockSince))
	r.lockSince = time.Time{}
	return false
}

// gitIndexLock returns the path of the folder's git index lock if it
// exists. The folder's .git is either the repository itself or, for a
// worktree, a file naming it ("gitdir: <path>").
func (r *watchRun) gitIndexLock() string {
	gitPath := filepath.Join(r.dir, ".git")
	fi, err := os.Stat(gitPath)
	if err != nil {
		return ""
	}
	gitDir := gitPath
	if !fi.IsDir() {
		b, err := safefile.ReadFile(gitPath)
		if err != nil {
			return ""
		}
		line, _, _ := strings.Cut(string(b), "\n")
		p, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
		if !ok {
			return ""
		}
		gitDir = strings.TrimSpace(p)
		if !filepath.IsAbs(gitDir) {
			gitDir = filepath.Join(r.dir, gitDir)
		}
	}
	lock := filepath.Join(gitDir, "index.lock")
	if _, err := os.Stat(lock); err != nil {
		return ""
	}
	return lock
}

// rescan reads the folder and delivers the snapshot if it differs from the
// last one delivered.
func (r *watchRun) rescan(t Trigger, seenAt time.Time) {
	if r.dirty || t == TriggerOverflow {
		r.syncWatches()
	}
	if r.w.opts.OnRescan != nil {
		r.w.opts.OnRescan(t)
	}
	load := r.load(t)
	r.w.readingSince.Store(time.Now().UnixNano())
	snap, err := load()
	r.w.lastRead.Store(time.Now().UnixNano())
	r.w.readingSince.Store(0)
	if err != nil {
		// The consumer keeps what it had; the next event or resync
		// tries again.
		if msg := err.Error(); msg != r.lastErr {
			r.w.log.Warn("cannot read the spec folder; keeping the last snapshot", "trigger", t, "err", err)
			r.lastErr = msg
			// The consumer is told, and the next good read goes out even
			// if it matches the last snapshot, to clear the failure.
			r.last = nil
			r.deliver(Update{Err: err, Trigger: t, SeenAt: seenAt})
		} else {
			r.w.log.Debug("cannot read the spec folder; keeping the last snapshot", "trigger", t, "err", err)
		}
		return
	}
	r.lastErr = ""
	switch {
	case snap == nil || snap.SettleAt.IsZero():
		r.settleAt = time.Time{}
	default:
		if r.settleAt.IsZero() || seenAt.Before(r.settleSeenAt) {
			r.settleTrigger, r.settleSeenAt = t, seenAt
		}
		r.settleAt = snap.SettleAt
	}
	if snap == nil || (r.last != nil && sameSnapshot(r.last, snap)) {
		return
	}
	r.last = snap
	invalid := 0
	for _, f := range snap.Files {
		if !f.Valid() {
			invalid++
		}
	}
	msg := "spec snapshot"
	if !r.loaded {
		msg, r.loaded = "spec folder loaded at start-up", true
	}
	r.w.log.Info(msg, "revision", snap.Revision, "trigger", t,
		"specs", len(snap.Specs), "files", len(snap.Files), "invalid", invalid,
		"latency", time.Since(seenAt))
	r.deliver(Update{Snapshot: snap, Trigger: t, SeenAt: seenAt})
}

// load picks how the rescan reads the folder, and takes what r.want asked
// for. A change notification says what changed, so only that is read
// (PathLoader), or the folder is walked and unchanged files reused. An
// overflow says nothing, so every file is read again (FullReloader). The
// periodic resync looks at every file: a Resyncer reads those whose Stamp
// changed, and every file once per FullResync; another loader re-reads
// every file each time. A read once held-back changes may have settled
// names nothing: a PathLoader reads what it holds back.
//
// A burst's rescan (t an event or overflow) leaves a pending resync for
// its own rescan, and a resync's rescan leaves the paths of a burst still
// settling for the burst's, so that neither waits for the other's read.
func (r *watchRun) load(t Trigger) func() (*Snapshot, error) {
	want := r.want
	if t == TriggerResync {
		r.want = readWant{paths: want.paths, walk: want.walk}
		want.paths, want.walk = nil, false
	} else {
		r.want = readWant{resync: want.resync}
		want.resync = false
	}
	l := r.w.loader
	full, canFull := l.(FullReloader)
	resyncer, canResync := l.(Resyncer)
	now := time.Now()
	switch {
	case want.full && canFull:
		r.lastFull = now
		return full.Reload
	case want.full:
		return l.Load
	case want.resync && canResync && canFull && now.Sub(r.lastFull) >= r.w.opts.FullResync:
		r.lastFull = now
		return full.Reload
	case want.resync && canResync:
		return resyncer.Resync
	case want.resync && canFull:
		return full.Reload
	}
	if pl, ok := l.(PathLoader); ok && !want.walk && !want.resync {
		paths := make([]string, 0, len(want.paths))
		for p := range want.paths {
			paths = append(paths, p)
		}
		return func() (*Snapshot, error) { return pl.LoadPaths(paths) }
	}
	return l.Load
}

// deliver hands u to the consumer without blocking: an update not yet
// taken is replaced, since a snapshot is the whole desired state (its
// earlier SeenAt is kept); a failure does not replace a snapshot not taken
// yet, but goes with it.
func (r *watchRun) deliver(u Update) {
	sendLatest(r.w.updates, u, func(old, u Update) Update {
		switch {
		case old.Snapshot == nil:
			// A failure only: the newer update says all there is.
		case u.Snapshot == nil:
			u.Snapshot, u.SeenAt = old.Snapshot, old.SeenAt
		case old.SeenAt.Before(u.SeenAt):
			u.SeenAt = old.SeenAt
		}
		return u
	})
}

// sendLatest sends v on ch, a channel with a buffer of one, without
// blocking: a value the receiver has not taken yet is replaced by v, or
// by what merge makes of the two (nil merge: v). Each watcher keeps its
// consumer on the latest state this way.
func sendLatest[T any](ch chan T, v T, merge func(old, v T) T) {
	for {
		select {
		case ch <- v:
			return
		default:
		}
		select {
		case old := <-ch:
			if merge != nil {
				v = merge(old, v)
			}
		default:
		}
	}
}

// sameSnapshot reports whether b declares what a declares: the same
// revision, files (by size, modification time and outcome), specs and
// conflicts.
func sameSnapshot(a, b *Snapshot) bool {
	if a.Dir != b.Dir || a.Revision != b.Revision || len(a.Files) != len(b.Files) ||
		len(a.Specs) != len(b.Specs) || len(a.Conflicts) != len(b.Conflicts) {
		return false
	}
	for i, fa := range a.Files {
		fb := b.Files[i]
		if fa.Path != fb.Path || fa.Size != fb.Size || !fa.ModTime.Equal(fb.ModTime) ||
			fa.Stale != fb.Stale || fa.Pending != fb.Pending || !equalStrings(fa.Names, fb.Names) || errString(fa.Err) != errString(fb.Err) {
			return false
		}
	}
	for i, sa := range a.Specs {
		sb := b.Specs[i]
		if sa != sb && !reflect.DeepEqual(sa, sb) {
			return false
		}
	}
	for i := range a.Conflicts {
		if a.Conflicts[i] != b.Conflicts[i] {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
