package spec

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
)

// readsLoader records how the Watcher asks it to read the folder: it is
// a PathLoader, a Resyncer and a FullReloader, as *Loader is.
type readsLoader struct {
	mu    sync.Mutex
	start time.Time
	calls []string
}

func (l *readsLoader) Load() (*Snapshot, error)   { return l.record("load") }
func (l *readsLoader) Reload() (*Snapshot, error) { return l.record("reload") }
func (l *readsLoader) Resync() (*Snapshot, error) { return l.record("resync") }
func (l *readsLoader) LoadPaths(paths []string) (*Snapshot, error) {
	slices.Sort(paths)
	return l.record("paths " + strings.Join(paths, ","))
}

func (l *readsLoader) record(how string) (*Snapshot, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf("%v %s", time.Since(l.start), how))
	return &Snapshot{Dir: "d"}, nil
}

// TestWatcherReadsWhatEventsName pins how each rescan reads the folder
// with a loader that can read named paths and tell unchanged files: a
// burst of events reads the paths it named, the folder itself or a large
// burst walks it, an overflow re-reads every file, and the periodic
// resync reads what changed, re-reading every file only every FullResync.
func TestWatcherReadsWhatEventsName(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name      string
		opts      WatchOptions
		act       func(dir string, send func(fsnotify.Event), at func(time.Duration))
		wantCalls []string
	}{
		{
			name: "a burst reads the paths its events named",
			act: func(dir string, send func(fsnotify.Event), at func(time.Duration)) {
				at(time.Second)
				send(fsnotify.Event{Name: filepath.Join(dir, "web.yaml"), Op: fsnotify.Write})
				send(fsnotify.Event{Name: filepath.Join(dir, "team", "api.yaml"), Op: fsnotify.Create})
				send(fsnotify.Event{Name: filepath.Join(dir, "web.yaml"), Op: fsnotify.Write})
				at(ms(2000))
				send(fsnotify.Event{Name: filepath.Join(dir, "old"), Op: fsnotify.Remove})
				at(ms(3000))
			},
			wantCalls: []string{"0s reload", "1.1s paths team/api.yaml,web.yaml", "2.1s paths old"},
		},
		{
			name: "the folder itself is walked",
			act: func(dir string, send func(fsnotify.Event), at func(time.Duration)) {
				at(time.Second)
				send(fsnotify.Event{Name: filepath.Join(dir, "web.yaml"), Op: fsnotify.Write})
				send(fsnotify.Event{Name: dir, Op: fsnotify.Create})
				at(ms(2000))
			},
			wantCalls: []string{"0s reload", "1.1s load"},
		},
		{
			name: "a burst naming many paths walks the folder",
			act: func(dir string, send func(fsnotify.Event), at func(time.Duration)) {
				at(time.Second)
				for i := range maxPaths + 1 {
					send(fsnotify.Event{Name: filepath.Join(dir, fmt.Sprintf("s%d.yaml", i)), Op: fsnotify.Create})
				}
				at(ms(2000))
			},
			wantCalls: []string{"0s reload", "1.1s load"},
		},
		{
			name: "an overflow re-reads every file",
			act: func(dir string, send func(fsnotify.Event), at func(time.Duration)) {
				at(time.Second)
				send(fsnotify.Event{Name: filepath.Join(dir, "web.yaml"), Op: fsnotify.Write})
				at(ms(1050))
				send(fsnotify.Event{Name: "", Op: 0}) // stands for the overflow; see below
				at(ms(3000))
			},
			wantCalls: []string{"0s reload", "1.15s reload"},
		},
		{
			name: "the resync reads what changed, and every file each FullResync",
			opts: WatchOptions{Resync: 30 * time.Second, FullResync: 90 * time.Second},
			act: func(dir string, send func(fsnotify.Event), at func(time.Duration)) {
				at(130 * time.Second)
			},
			wantCalls: []string{"0s reload", "30s resync", "1m0s resync", "1m30s reload", "2m0s resync"},
		},
		{
			// The burst's read does not wait for the resync's look at
			// every file: it reads its paths, and the resync follows.
			name: "a resync during a burst reads after the burst's paths",
			opts: WatchOptions{Resync: 30 * time.Second},
			act: func(dir string, send func(fsnotify.Event), at func(time.Duration)) {
				at(ms(29950))
				send(fsnotify.Event{Name: filepath.Join(dir, "web.yaml"), Op: fsnotify.Write})
				at(31 * time.Second)
			},
			wantCalls: []string{"0s reload", "30.05s paths web.yaml", "30.05s resync"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				opts := tt.opts
				if opts.Resync == 0 {
					opts.Resync = time.Hour
				}
				start := time.Now()
				loader := &readsLoader{start: start}
				w := NewWatcher(dir, loader, opts)
				r := &watchRun{w: w, dir: dir, deb: debouncer{quiet: w.opts.Debounce, maxDelay: w.opts.MaxDelay}}
				events, errs := make(chan fsnotify.Event), make(chan error)
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- r.loop(ctx, events, errs) }()
				send := func(ev fsnotify.Event) {
					if ev.Name == "" {
						errs <- fsnotify.ErrEventOverflow
						return
					}
					events <- ev
				}
				at := func(d time.Duration) {
					time.Sleep(time.Until(start.Add(d)))
					synctest.Wait()
				}
				synctest.Wait()
				tt.act(dir, send, at)
				cancel()
				if err := <-done; err != nil {
					t.Errorf("loop returned %v", err)
				}
				loader.mu.Lock()
				defer loader.mu.Unlock()
				if !slices.Equal(loader.calls, tt.wantCalls) {
					t.Errorf("reads = %q, want %q", loader.calls, tt.wantCalls)
				}
			})
		})
	}
}
