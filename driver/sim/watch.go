package sim

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
// the ones running now. It looks at the records in place, copying only the
// ended runs it reports: Watch sweeps after every change to the host, so
// on a host of ten thousand containers a copy of all of them per change
// is most of what a cold start costs.
func (d *Driver) sweep() {
	if d.mon != nil {
		return
	}
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	if d.w.running == nil {
		d.w.running = make(map[string]time.Time)
	}
	var ended []driver.Container
	err := d.model.view(func(s *state) error {
		for id, r := range s.Containers {
			if !d.owns(r) {
				continue
			}
			ended = d.w.noteLocked(id, r, ended)
		}
		for id := range d.w.running {
			if r, ok := s.Containers[id]; !ok || !d.owns(r) {
				delete(d.w.running, id)
			}
		}
		return nil
	})
	if err != nil {
		return
	}
	d.w.emitEndedLocked(ended)
}

// sweepOne is sweep for container id alone: the report, before a run
// starts, of the run before it.
func (d *Driver) sweepOne(id string) {
	if d.mon != nil {
		return
	}
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	if _, watched := d.w.running[id]; !watched {
		return
	}
	var ended []driver.Container
	err := d.model.view(func(s *state) error {
		if r, ok := s.Containers[id]; ok && d.owns(r) {
			ended = d.w.noteLocked(id, r, ended)
		} else {
			delete(d.w.running, id)
		}
		return nil
	})
	if err != nil {
		return
	}
	d.w.emitEndedLocked(ended)
}

// owns reports whether r is a container the driver lists, as
// Model.Containers does for the driver's owner.
func (d *Driver) owns(r *record) bool { return d.owner == "" || r.Config.Owner == d.owner }

// noteLocked notes container id, as r has it now, as running, or as
// ended (appended to ended, for its report) or gone from the runs
// watched; w.mu is held.
func (w *watchers) noteLocked(id string, r *record, ended []driver.Container) []driver.Container {
	started, watched := w.running[id]
	switch {
	case r.State == driver.StateRunning:
		w.running[id] = r.StartedAt
	case watched && r.State == driver.StateExited && r.StartedAt.Equal(started):
		delete(w.running, id)
		ended = append(ended, r.container())
	case watched:
		delete(w.running, id)
	}
	return ended
}

// emitEndedLocked reports ended runs by name, then id, as the host lists
// them; w.mu is held.
func (w *watchers) emitEndedLocked(ended []driver.Container) {
	slices.SortFunc(ended, func(a, b driver.Container) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, c := range ended {
		w.emitLocked(c)
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
	d.w.mu.Unlock()
	// A Watch that swept between the model's start and this note saw the
	// run neither running nor noted; a run that ended at once (cmd /c exit
	// 3) then stayed unreported until something else changed. Wake it to
	// sweep again.
	d.model.notify.signal()
}
