package spec

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// blockingLoader is a SnapshotLoader whose reads wait until release is
// closed, as a read of a file system that hangs does. entered is closed
// by the first read.
type blockingLoader struct {
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (l *blockingLoader) Load() (*Snapshot, error) {
	l.once.Do(func() { close(l.entered) })
	<-l.release
	return &Snapshot{Dir: "d"}, nil
}

func TestWatcherHealth(t *testing.T) {
	t.Run("a read that does not finish", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := &blockingLoader{entered: make(chan struct{}), release: make(chan struct{})}
			w := NewWatcher(t.TempDir(), l, WatchOptions{Poll: time.Second, Resync: time.Minute, StallAfter: 5 * time.Minute})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- w.Run(ctx) }()
			<-l.entered
			if err := w.Health(); err != nil {
				t.Errorf("Health at the start of a read = %v", err)
			}
			time.Sleep(5 * time.Minute)
			if err := w.Health(); err != nil {
				t.Errorf("Health after a read of exactly StallAfter = %v", err)
			}
			time.Sleep(time.Second)
			err := w.Health()
			if err == nil || !strings.Contains(err.Error(), "has been reading") {
				t.Errorf("Health of a read stuck for 5m1s = %v, want why", err)
			}
			close(l.release)
			synctest.Wait()
			if err := w.Health(); err != nil {
				t.Errorf("Health once the read finished = %v", err)
			}
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	})
	t.Run("no read at all", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := NewWatcher(t.TempDir(), &timingLoader{}, WatchOptions{Resync: time.Minute})
			time.Sleep(3 * time.Minute) // the default: three resyncs, at least two minutes
			if err := w.Health(); err != nil {
				t.Errorf("Health = %v at the bound", err)
			}
			time.Sleep(time.Second)
			if err := w.Health(); err == nil || !strings.Contains(err.Error(), "has not finished a read") {
				t.Errorf("Health of a Watcher that never read = %v, want why", err)
			}
		})
	})
	t.Run("an idle Watcher between resyncs stays healthy", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := NewWatcher(t.TempDir(), &timingLoader{}, WatchOptions{Poll: time.Hour, Resync: time.Minute})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- w.Run(ctx) }()
			for range 10 {
				time.Sleep(time.Minute)
				synctest.Wait()
				if err := w.Health(); err != nil {
					t.Fatalf("Health = %v", err)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	})
}
