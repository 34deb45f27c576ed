package hcs

import (
	"context"
	"sync"

	"github.com/Microsoft/hcsshim"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.Watcher = (*Driver)(nil)

// watchers are the subscribers to the exits the driver's trackers see.
type watchers struct {
	mu   sync.Mutex
	subs map[int]func(driver.Container)
	next int
}

func (w *watchers) add(fn func(driver.Container)) (remove func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs == nil {
		w.subs = make(map[int]func(driver.Container))
	}
	k := w.next
	w.next++
	w.subs[k] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.subs, k)
	}
}

func (w *watchers) emit(c driver.Container) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, fn := range w.subs {
		fn(c)
	}
}

// Watch implements driver.Watcher: an exit is reported by the tracker of
// the init process (see track) once its code is recorded, before the
// tracker lets a Start of the next run go on. An init process that exits
// while no driver holds it is seen by the next List, as before.
func (d *Driver) Watch(ctx context.Context, exited func(driver.Container)) error {
	defer d.watch.add(exited)()
	<-ctx.Done()
	return nil
}

// reportExit tells the watchers of the recorded exit of id.
func (d *Driver) reportExit(id string) {
	rec, err := d.getRecord(id)
	if err != nil || rec == nil || !rec.Exited || rec.Config.Owner != d.owner {
		return
	}
	d.watch.emit(d.container(rec, hcsshim.ContainerProperties{}, false))
}
