package sim

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.Watcher = (*Driver)(nil)

// watchers are the driver's subscribers to exits, and what it has seen
// run and not yet reported ended.
type watchers struct {
	mu      sync.Mutex
	subs    map[int]func(driver.Container)
	next    int
	running map[string]time.Time // container ID -> StartedAt of the run seen running
	// cursor is how far the last sweep read the model's changes of runs.
	cursor runsCursor
	// recheck are containers the next sweep looks at whatever changed:
	// runs this driver started, whose changes a sweep may have read
	// before they were noted running.
	recheck map[string]bool
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

// emitLocked reports c to every subscriber; w.mu is held.
func (w *watchers) emitLocked(c driver.Container) {
	for _, fn := range w.subs {
		fn(c)
	}
}

func (w *watchers) emit(c driver.Container) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.emitLocked(c)
}

// Watch implements driver.Watcher. Without monitors the exits come from
// the model: the driver wakes when the next command is due to end and
// whenever this process changes the host, and reports the runs it saw
// running that have ended (a kill by another process is seen at the next
// wake or relist, and at once for a host kept in a folder, whose state
// file the driver watches). With monitors (Options.Monitor) an exit is reported
// when the run's monitor has recorded it, its output written.
func (d *Driver) Watch(ctx context.Context, exited func(driver.Container)) error {
	defer d.w.add(exited)()
	if d.mon != nil {
		d.mon.adoptAll(d)
		<-ctx.Done()
		return nil
	}
	// Another process (`isoagent sim kill`, a second agent) changes a
	// host kept in a folder by appending to its journal or replacing its
	// state file, looked at every folderPoll. (A poll, not file
	// notifications: its timer is one that testing/synctest can run.)
	dir := storeDir(d.model.store)
	var last folderStamp
	if dir != "" {
		last = stampFolder(dir)
	}
	for {
		changed := d.model.changes()
		d.sweep()
		var due <-chan time.Time
		var t *time.Timer
		if next := d.model.nextExit(); !next.IsZero() {
			t = time.NewTimer(max(0, next.Sub(d.model.clock())))
			due = t.C
		}
		var poll <-chan time.Time
		if dir != "" {
			poll = time.After(folderPoll)
		}
	wait:
		for {
			select {
			case <-ctx.Done():
			case <-changed:
			case <-due:
			case <-poll:
				now := stampFolder(dir)
				if now.same(last) {
					poll = time.After(folderPoll)
					continue wait
				}
				last = now
			}
			break
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// folderStamp tells whether a host kept in a folder changed: its state
// file and its journal, as they were at a look.
type folderStamp [2]os.FileInfo

func stampFolder(dir string) folderStamp {
	var s folderStamp
	for i, name := range []string{stateFile, journalFile} {
		s[i], _ = os.Stat(filepath.Join(dir, name))
	}
	return s
}

// same reports whether s and t saw the same files, unchanged; a file
// missing at either look counts as unchanged only when missing at both.
func (s folderStamp) same(t folderStamp) bool {
	for i := range s {
		a, b := s[i], t[i]
		switch {
		case a == nil && b == nil:
		case a == nil || b == nil:
			return false
		case !os.SameFile(a, b) || a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime()):
			return false
		}
	}
	return true
}

// folderPoll is how often Watch looks whether another process changed a
// host kept in a folder.
const folderPoll = 200 * time.Millisecond

// sweep reports the runs seen running that have ended since, and notes
// the ones running now. It looks at the containers whose run changed since
// the last sweep, so an operation costs the same on a host of ten
// containers as on one of ten thousand; at every container only when the
// changes are not known (the first sweep, a state read again whole from
// its folder).
func (d *Driver) sweep() {
	if d.mon != nil {
		return
	}
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	cs, gone, next, partial, err := d.model.runsSince(d.owner, d.w.cursor, d.w.recheck)
	if err != nil {
		return
	}
	d.w.cursor, d.w.recheck = next, nil
	if d.w.running == nil {
		d.w.running = make(map[string]time.Time)
	}
	for _, id := range gone {
		delete(d.w.running, id)
	}
	seen := make(map[string]bool, len(cs))
	for _, c := range cs {
		seen[c.ID] = true
		started, watched := d.w.running[c.ID]
		switch {
		case c.State == driver.StateRunning:
			d.w.running[c.ID] = c.StartedAt
		case watched && c.State == driver.StateExited && c.StartedAt.Equal(started):
			delete(d.w.running, c.ID)
			d.w.emitLocked(c)
		case watched:
			delete(d.w.running, c.ID)
		}
	}
	if partial {
		return // those not named did not change
	}
	for id := range d.w.running {
		if !seen[id] {
			delete(d.w.running, id)
		}
	}
}

// started notes a run this driver started, so that its exit is reported
// even when it ends before a sweep sees it run.
func (d *Driver) started(id string) {
	if d.mon != nil {
		return
	}
	ri, ok, err := d.model.runOf(id)
	if err != nil || !ok {
		return
	}
	d.w.mu.Lock()
	if d.w.running == nil {
		d.w.running = make(map[string]time.Time)
	}
	d.w.running[id] = ri.StartedAt
	if d.w.recheck == nil {
		d.w.recheck = make(map[string]bool)
	}
	d.w.recheck[id] = true
	d.w.mu.Unlock()
	// A Watch that swept between the model's start and this note saw the
	// run neither running nor noted, and read its changes: a run that
	// ended at once (cmd /c exit 3) then stayed unreported. Wake it to
	// look at this one again.
	d.model.notify.signal()
}
