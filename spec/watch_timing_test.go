package spec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
)

// timingLoader is a SnapshotLoader for the timing tests: it records when
// it was called and how, and returns the revision the test has set.
type timingLoader struct {
	mu       sync.Mutex
	start    time.Time
	revision string
	fail     error
	calls    []string // "<offset> load" or "<offset> reload"
}

func (l *timingLoader) Load() (*Snapshot, error)   { return l.load("load") }
func (l *timingLoader) Reload() (*Snapshot, error) { return l.load("reload") }

func (l *timingLoader) load(how string) (*Snapshot, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf("%v %s", time.Since(l.start), how))
	if l.fail != nil {
		return nil, l.fail
	}
	return &Snapshot{Dir: "d", Revision: l.revision}, nil
}

func (l *timingLoader) set(revision string, fail error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.revision, l.fail = revision, fail
}

func (l *timingLoader) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// TestWatcherTiming drives the Watcher's loop with synthetic events in a
// synctest bubble, so the debounce, resync and git-lock timing is checked
// to the nanosecond without real waiting.
func TestWatcherTiming(t *testing.T) {
	type env struct {
		dir    string
		events chan fsnotify.Event
		errs   chan error
		loader *timingLoader
		w      *Watcher
		// collect takes the updates delivered so far.
		collect func()
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	// sleepUntil advances the bubble's clock to offset d from the start.
	sleepUntil := func(start time.Time, d time.Duration) {
		time.Sleep(time.Until(start.Add(d)))
		synctest.Wait()
	}
	tests := []struct {
		name      string
		opts      WatchOptions
		act       func(t *testing.T, e env, start time.Time)
		wantCalls []string
		// wantUpdates are the revisions delivered, in order, with their
		// trigger and SeenAt offset.
		wantUpdates []string
	}{
		{
			name: "an event is read once the quiet period has passed",
			act: func(t *testing.T, e env, start time.Time) {
				sleepUntil(start, time.Second)
				e.loader.set("r2", nil)
				e.events <- fsnotify.Event{Name: filepath.Join(e.dir, "web.yaml"), Op: fsnotify.Write}
				sleepUntil(start, ms(1099))
				if n := len(e.loader.got()); n != 1 {
					t.Errorf("%d loads before the quiet period ended, want 1", n)
				}
				sleepUntil(start, ms(2000))
			},
			wantCalls:   []string{"0s reload", "1.1s load"},
			wantUpdates: []string{" resync 0s", "r2 event 1s"},
		},
		{
			name: "a burst that never settles is read every MaxDelay",
			act: func(t *testing.T, e env, start time.Time) {
				for at := 1000; at <= 2960; at += 70 {
					sleepUntil(start, ms(at))
					e.collect()
					e.loader.set(fmt.Sprint("r", at), nil)
					e.events <- fsnotify.Event{Name: filepath.Join(e.dir, "web.yaml"), Op: fsnotify.Write}
				}
				sleepUntil(start, ms(5000))
			},
			wantCalls:   []string{"0s reload", "2s load", "3.05s load"},
			wantUpdates: []string{" resync 0s", "r1980 event 1s", "r2960 event 2.05s"},
		},
		{
			name: "editor leftovers and siblings of the folder cause no rescan",
			act: func(t *testing.T, e env, start time.Time) {
				sleepUntil(start, time.Second)
				for _, name := range []string{".web.yaml.swp", "web.yaml~", "#web.yaml#", "x.tmp", "y.bak", ".web.yaml.swx"} {
					e.events <- fsnotify.Event{Name: filepath.Join(e.dir, name), Op: fsnotify.Create}
				}
				e.events <- fsnotify.Event{Name: e.dir + "-sibling", Op: fsnotify.Create}
				sleepUntil(start, ms(3000))
			},
			wantCalls:   []string{"0s reload"},
			wantUpdates: []string{" resync 0s"},
		},
		{
			name: "the periodic resync re-reads every file and delivers only what changed",
			opts: WatchOptions{Resync: 30 * time.Second},
			act: func(t *testing.T, e env, start time.Time) {
				sleepUntil(start, 45*time.Second)
				e.loader.set("r2", nil) // a change whose event was lost
				sleepUntil(start, 70*time.Second)
			},
			wantCalls:   []string{"0s reload", "30s reload", "1m0s reload"},
			wantUpdates: []string{" resync 0s", "r2 resync 1m0s"},
		},
		{
			name: "an overflow reads every file again",
			act: func(t *testing.T, e env, start time.Time) {
				sleepUntil(start, time.Second)
				e.loader.set("r2", nil)
				e.errs <- fsnotify.ErrEventOverflow
				sleepUntil(start, ms(1050))
				e.events <- fsnotify.Event{Name: filepath.Join(e.dir, "web.yaml"), Op: fsnotify.Write}
				sleepUntil(start, ms(3000))
			},
			wantCalls:   []string{"0s reload", "1.15s reload"},
			wantUpdates: []string{" resync 0s", "r2 overflow 1s"},
		},
		{
			name: "the folder is not read while a git operation holds the index lock",
			act: func(t *testing.T, e env, start time.Time) {
				lock := filepath.Join(e.dir, ".git", "index.lock")
				if err := os.WriteFile(lock, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				sleepUntil(start, time.Second)
				e.loader.set("r2", nil)
				e.events <- fsnotify.Event{Name: filepath.Join(e.dir, "web.yaml"), Op: fsnotify.Write}
				sleepUntil(start, ms(1520))
				if n := len(e.loader.got()); n != 1 {
					t.Errorf("%d loads while the lock was held, want 1", n)
				}
				if err := os.Remove(lock); err != nil {
					t.Fatal(err)
				}
				sleepUntil(start, ms(3000))
			},
			wantCalls:   []string{"0s reload", "1.55s load"},
			wantUpdates: []string{" resync 0s", "r2 event 1s"},
		},
		{
			name: "a worktree's index lock is found through its .git file",
			act: func(t *testing.T, e env, start time.Time) {
				gitDir := filepath.Join(t.TempDir(), "worktrees", "wt")
				if err := os.MkdirAll(gitDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.RemoveAll(filepath.Join(e.dir, ".git")); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(e.dir, ".git"), []byte("gitdir: "+gitDir+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				lock := filepath.Join(gitDir, "index.lock")
				if err := os.WriteFile(lock, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				sleepUntil(start, time.Second)
				e.events <- fsnotify.Event{Name: filepath.Join(e.dir, "web.yaml"), Op: fsnotify.Write}
				sleepUntil(start, ms(2020))
				if err := os.Remove(lock); err != nil {
					t.Fatal(err)
				}
				sleepUntil(start, ms(3000))
			},
			wantCalls:   []string{"0s reload", "2.05s load"},
			wantUpdates: []string{" resync 0s"},
		},
		{
			name: "a lock left behind by a crashed git is waited out",
			opts: WatchOptions{GitLockMaxWait: 10 * time.Second},
			act: func(t *testing.T, e env, start time.Time) {
				if err := os.WriteFile(filepath.Join(e.dir, ".git", "index.lock"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				sleepUntil(start, time.Second)
				e.loader.set("r2", nil)
				e.events <- fsnotify.Event{Name: filepath.Join(e.dir, "web.yaml"), Op: fsnotify.Write}
				sleepUntil(start, 20*time.Second)
			},
			wantCalls:   []string{"0s reload", "11.1s load"},
			wantUpdates: []string{" resync 0s", "r2 event 1s"},
		},
		{
			name: "a failing load not taken yet is replaced by the next change, which is read",
			act: func(t *testing.T, e env, start time.Time) {
				sleepUntil(start, time.Second)
				e.loader.set("r2", errors.New("folder missing"))
				e.events <- fsnotify.Event{Name: e.dir, Op: fsnotify.Remove}
				sleepUntil(start, 2*time.Second)
				e.loader.set("r3", nil)
				e.events <- fsnotify.Event{Name: e.dir, Op: fsnotify.Create}
				sleepUntil(start, 3*time.Second)
			},
			wantCalls:   []string{"0s reload", "1.1s load", "2.1s load"},
			wantUpdates: []string{" resync 0s", "r3 event 2s"},
		},
		{
			name: "a failing load is delivered once, and the next good read clears it though nothing changed",
			act: func(t *testing.T, e env, start time.Time) {
				sleepUntil(start, time.Second)
				e.loader.set("", errors.New("folder missing"))
				e.events <- fsnotify.Event{Name: e.dir, Op: fsnotify.Remove}
				sleepUntil(start, 2*time.Second)
				e.collect()
				e.events <- fsnotify.Event{Name: e.dir, Op: fsnotify.Remove}
				sleepUntil(start, 3*time.Second)
				e.collect()
				e.loader.set("", nil)
				e.events <- fsnotify.Event{Name: e.dir, Op: fsnotify.Create}
				sleepUntil(start, 4*time.Second)
			},
			wantCalls:   []string{"0s reload", "1.1s load", "2.1s load", "3.1s load"},
			wantUpdates: []string{" resync 0s", "!folder missing event 1s", " event 3s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
					t.Fatal(err)
				}
				opts := tt.opts
				if opts.Resync == 0 {
					opts.Resync = time.Hour
				}
				counts := make(map[string]int)
				opts.OnRescan = func(tr Trigger) { counts["rescan "+string(tr)]++ }
				opts.OnEvent = func(tr Trigger) { counts["event "+string(tr)]++ }
				start := time.Now()
				loader := &timingLoader{start: start}
				w := NewWatcher(dir, loader, opts)
				r := &watchRun{w: w, dir: dir, deb: debouncer{quiet: w.opts.Debounce, maxDelay: w.opts.MaxDelay}}

				var updates []string
				collect := func() {
					for {
						select {
						case u := <-w.Updates():
							what := "!" + fmt.Sprint(u.Err) // a failure, with no snapshot
							if u.Snapshot != nil {
								what = u.Snapshot.Revision
							}
							updates = append(updates, fmt.Sprintf("%s %s %v", what, u.Trigger, u.SeenAt.Sub(start)))
						default:
							return
						}
					}
				}
				e := env{dir: dir, events: make(chan fsnotify.Event), errs: make(chan error), loader: loader, w: w, collect: collect}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- r.loop(ctx, e.events, e.errs) }()
				synctest.Wait()
				collect()
				tt.act(t, e, start)
				collect()
				cancel()
				if err := <-done; err != nil {
					t.Errorf("loop returned %v", err)
				}

				if got := loader.got(); !slices.Equal(got, tt.wantCalls) {
					t.Errorf("loads = %q, want %q", got, tt.wantCalls)
				}
				if !slices.Equal(updates, tt.wantUpdates) {
					t.Errorf("updates = %q, want %q", updates, tt.wantUpdates)
				}
				rescans := counts["rescan event"] + counts["rescan resync"] + counts["rescan overflow"]
				if rescans != len(tt.wantCalls) {
					t.Errorf("OnRescan called %d times (%v), want once per load (%d)", rescans, counts, len(tt.wantCalls))
				}
			})
		})
	}
}

// TestWatcherDeliveryKeepsASnapshotAcrossAFailure pins that a failure to
// read the folder does not drop a snapshot the consumer has not taken yet,
// and that a good read after a failure replaces it.
func TestWatcherDeliveryKeepsASnapshotAcrossAFailure(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	missing := errors.New("spec folder: no such file or directory")
	snap := &Snapshot{Revision: "a"}
	tests := []struct {
		name    string
		deliver []Update
		want    Update
	}{
		{"a failure after a snapshot", []Update{
			{Snapshot: snap, Trigger: TriggerEvent, SeenAt: t0},
			{Err: missing, Trigger: TriggerResync, SeenAt: t0.Add(time.Second)},
		}, Update{Snapshot: snap, Err: missing, Trigger: TriggerResync, SeenAt: t0}},
		{"a snapshot after a failure", []Update{
			{Err: missing, Trigger: TriggerEvent, SeenAt: t0},
			{Snapshot: snap, Trigger: TriggerEvent, SeenAt: t0.Add(time.Second)},
		}, Update{Snapshot: snap, Trigger: TriggerEvent, SeenAt: t0.Add(time.Second)}},
		{"a failure after a failure", []Update{
			{Err: errors.New("older"), Trigger: TriggerEvent, SeenAt: t0},
			{Err: missing, Trigger: TriggerEvent, SeenAt: t0.Add(time.Second)},
		}, Update{Err: missing, Trigger: TriggerEvent, SeenAt: t0.Add(time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWatcher("d", &timingLoader{}, WatchOptions{})
			r := &watchRun{w: w}
			for _, u := range tt.deliver {
				r.deliver(u)
			}
			got := <-w.Updates()
			if got.Snapshot != tt.want.Snapshot || got.Err != tt.want.Err || got.Trigger != tt.want.Trigger || !got.SeenAt.Equal(tt.want.SeenAt) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestWatcherDeliveryKeepsEarliestSeenAt pins that a consumer who falls
// behind gets the newest snapshot with the time its oldest untaken change
// was seen, so convergence time is not understated.
func TestWatcherDeliveryKeepsEarliestSeenAt(t *testing.T) {
	w := NewWatcher("d", &timingLoader{}, WatchOptions{})
	r := &watchRun{w: w}
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	first := &Snapshot{Revision: "a"}
	second := &Snapshot{Revision: "b"}
	r.deliver(Update{Snapshot: first, Trigger: TriggerEvent, SeenAt: t0})
	r.deliver(Update{Snapshot: second, Trigger: TriggerResync, SeenAt: t0.Add(time.Second)})
	u := <-w.Updates()
	if u.Snapshot != second || u.Trigger != TriggerResync || !u.SeenAt.Equal(t0) {
		t.Errorf("got %q %s seen at +%v, want the second snapshot, its trigger, seen at the first's time",
			u.Snapshot.Revision, u.Trigger, u.SeenAt.Sub(t0))
	}
	select {
	case u := <-w.Updates():
		t.Errorf("a second update was queued: %q", u.Snapshot.Revision)
	default:
	}
}
