package spec

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/isoagent/isoagent/internal/safefile"
)

// Defaults of LoaderOptions.
const (
	// DefaultMaxFileSize is the largest spec file a Loader reads.
	DefaultMaxFileSize = 1 << 20
	// DefaultMaxReadTime bounds how long reading one file may wait.
	DefaultMaxReadTime = 5 * time.Second
	// DefaultSettle is how long a change that would take specs away must
	// stay as it is before it applies: the debounce's cap.
	DefaultSettle = DefaultMaxDelay
)

// LoaderOptions tune a Loader. The zero value gives the defaults.
type LoaderOptions struct {
	// MaxFileSize is the largest file read, in bytes; a larger file is
	// invalid with an error saying so. Zero means DefaultMaxFileSize.
	MaxFileSize int64
	// MaxReadTime bounds a read that waits for data, which only special
	// files do (a regular file on disk never waits). Zero means
	// DefaultMaxReadTime.
	MaxReadTime time.Duration
	// Settle is how long a change that would take specs away (see
	// File.Pending) must stay unchanged, across two reads, before it
	// applies. Zero means DefaultSettle.
	Settle time.Duration
	// Now returns the current time: stamped on snapshots as LoadedAt, and
	// the clock of Settle. nil means time.Now.
	Now func() time.Time
	// CheckoutChanges, when set, returns the files under the folder (as
	// slash-separated paths relative to it) that differ from the commit of
	// the git checkout holding it, such as gitstatus.Changes. The spec
	// files among them are Snapshot.Changes, and the revision is then
	// reported with "-dirty". It is asked only when a revision is known,
	// and again only when the revision or a spec file changed.
	CheckoutChanges func(dir string) ([]string, error)
	// LocateSyntax, when set, finds the line and column of a YAML syntax
	// error that yaml.v3 does not tell (see SyntaxLocator), such as
	// yamlpos.Locate. It runs only on files that failed to parse.
	LocateSyntax SyntaxLocator
}

// LoadStats counts what the last Load did with the files it saw.
type LoadStats struct {
	// Parsed is how many files were read because they may have changed
	// (Reload reads them all), and parsed unless their content was what
	// the last read of them found.
	Parsed int
	// Reused is how many files were taken as the last read left them:
	// their safefile.Stamp was unchanged or, for a file whose Stamp was
	// taken too soon after it changed to tell (Stamp.Racy), the content a
	// new read found was.
	Reused int
}

// A Loader reads a spec folder into Snapshots, again and again: it
// remembers every file it read, so an unchanged file (same
// safefile.Stamp: size, modification and change times, identity) is not
// read again, a file read again with the content it had is not parsed
// again (its specs are the same *Container values from one snapshot to
// the next, so a consumer tells changed specs by comparing pointers), and
// a file that was valid keeps its last-known-good specs in force, marked
// Stale, while it is invalid.
//
// Which files are read: every file ending in .yaml or .yml (any case) in
// the folder and its subfolders, except names Ignored skips. Only regular
// files are read. The folder may be a symlink; symbolic links to files
// are followed while they stay inside the folder (a ConfigMap volume's
// links through ..data do), and symlinked subfolders are not followed, so
// links cannot make the walk loop. A spec-named entry that is anything
// else (a link that leads out of the folder, a named pipe, a device, a
// socket, a link to a folder) is reported as skipped, by name; nothing of
// it is read. No read can block the Loader: files are opened without
// waiting, and a read that waits gives up after MaxReadTime.
//
// A half-written file never takes specs away. A change that would (the
// file emptied; cut short, so that it is a beginning of its last good
// content or ends inside a line; or no longer declaring a name it
// declared) leaves the last-known-good specs in force and marks the file
// Pending. An emptied file stays so until it is written again or removed;
// the other changes apply once a read at least Settle after the first
// finds the file unchanged. A removed file's specs go only when a second
// read, at least Settle after the first that missed the file, misses it
// too. Snapshot.SettleAt says when to read again. Load and Reload apply
// these rules alike.
//
// A Loader is not safe for concurrent use.
type Loader struct {
	dir   string
	opts  LoaderOptions
	cache map[string]*cachedFile // by slash-separated path relative to dir
	stats LoadStats
	idx   folderIndex
	// walked reports that a Load or Reload has walked the folder, which
	// LoadPaths needs to build on.
	walked bool
	// loads counts the loads: a load marks the files it looks at with
	// its number, rather than building a set of every path it saw.
	loads uint64
	dirty dirtyCache
}

// cachedFile is what the Loader remembers of one file.
type cachedFile struct {
	rel, path string
	size      int64
	modTime   time.Time
	specs     []*Container // from the last read, nil when it was invalid
	err       error        // of the last read
	lkg       []*Container // last-known-good specs
	lkgText   contentSums  // of the content lkg was read from

	// What the last read found: the file's Stamp, whether the Stamp was
	// taken too soon after a change to tell the next one (it is read
	// again then), and the content's hash; parsed is false until a read
	// got that far.
	stamp  safefile.Stamp
	racy   bool
	sum    [sha256.Size]byte
	parsed bool

	// A valid read whose specs wait (see Loader): why, since when, and
	// its content's sums, for when it applies.
	hold      holdReason
	holdSince time.Time
	holdText  contentSums

	goneSince time.Time // when a read first missed the file; zero while it is there

	// link: the entry is a symbolic link, whose target may change under
	// another name. badDir: the file is kept as it was, its folder cannot
	// be read. folder: it stands for a folder that cannot be read, with
	// no file known in it.
	link, badDir, folder bool

	// In the folder's index: the outcome in force and the conflicts the
	// file loses.
	indexed   bool
	res       fileResult
	conflicts []Conflict

	// looked is the number of the last load that looked at the file
	// (Loader.loads).
	looked uint64
}

// mustRecheck reports whether a load that reads only what changed reads
// f anyway: it waits for a change to settle, was read too soon after a
// change to be trusted, is a link, or lives in a folder that could not be
// read.
func (f *cachedFile) mustRecheck() bool {
	return f.res.Pending || f.racy || f.link || f.badDir || f.folder
}

// hidden reports that f is removed and every spec it had is declared
// elsewhere now: it is not listed in snapshots.
func (f *cachedFile) hidden() bool { return f.res.gone && len(f.res.Names) == 0 }

// NewLoader returns a Loader of dir. It reads nothing until Load.
func NewLoader(dir string, opts LoaderOptions) *Loader {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.MaxReadTime <= 0 {
		opts.MaxReadTime = DefaultMaxReadTime
	}
	if opts.Settle <= 0 {
		opts.Settle = DefaultSettle
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Loader{dir: dir, opts: opts, cache: map[string]*cachedFile{}, idx: newFolderIndex()}
}

// Load reads the folder and returns what it declares now. Problems with
// single files are reported in the snapshot's Files and never hide other
// files' specs. Load returns an error, and no snapshot, only when the
// folder itself is missing, not a folder, or unreadable; a caller must then
// keep acting on what it had, never treat it as empty.
func (l *Loader) Load() (*Snapshot, error) { return l.load(false) }

// Reload is Load without the cache: every file is read again, whatever its
// size and modification time, for when a change may have gone unnoticed.
// Last-known-good specs are kept.
func (l *Loader) Reload() (*Snapshot, error) { return l.load(true) }

// Resync is Load, for a periodic resync (it satisfies Resyncer): every
// file is looked at, and read again only when its Stamp changed or was
// taken too soon after a change to tell; the change time and identity in
// a Stamp tell the rewrites that keep a file's size and modification
// time. Reload stays the last line of defence, for changes a Stamp
// cannot tell.
func (l *Loader) Resync() (*Snapshot, error) { return l.load(false) }

// Stats returns what the last Load or Reload did.
func (l *Loader) Stats() LoadStats { return l.stats }

// Load reads dir once with a new Loader and the default options.
func Load(dir string) (*Snapshot, error) {
	return NewLoader(dir, LoaderOptions{}).Load()
}

// LoadFiles reads the given spec files, whatever their names, as one set:
// duplicate names among them are resolved as in a folder (first path in
// sort order wins). Every problem, unreadable files included, is reported
// in the snapshot's Files; Dir is empty and no revision is read. It is for
// tools that check files named on their command line: links are followed
// wherever they lead, and only regular files are read.
func LoadFiles(paths []string, opts LoaderOptions) *Snapshot {
	l := NewLoader("", opts)
	sorted := slices.Clone(paths)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	var files []fileResult
	for _, p := range sorted {
		_, r := l.readFile(entry{rel: filepath.ToSlash(p), path: p}, false, l.opts.Now())
		files = append(files, r)
	}
	snap := &Snapshot{LoadedAt: l.opts.Now()}
	snap.Specs, snap.Conflicts = resolveNames(files)
	for _, f := range files {
		snap.Files = append(snap.Files, f.File)
	}
	return snap
}

func (l *Loader) load(force bool) (*Snapshot, error) {
	root, err := l.openFolder()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	l.stats = LoadStats{}
	now := l.opts.Now()
	l.loads++
	load := l.loads
	// Files are read as the walk finds them, while their folder is open.
	w := walker{root: root, read: func(e entry) {
		l.visit(e, force, now).looked = load
	}}
	if err := w.walk(); err != nil {
		return nil, fmt.Errorf("spec folder: %w", err)
	}
	for _, bad := range w.badDirs {
		l.badFolder(bad, load)
	}
	for _, cf := range l.cache {
		if cf.looked != load {
			l.missing(cf, now)
		}
	}
	l.walked = true
	return l.snapshot(now), nil
}

// openFolder opens the folder, or says why it cannot be read.
func (l *Loader) openFolder() (*safefile.Root, error) {
	root, err := safefile.OpenRoot(l.dir)
	if err != nil {
		if fi, serr := os.Stat(l.dir); serr == nil && !fi.IsDir() {
			return nil, fmt.Errorf("spec folder %s is not a folder", l.dir)
		}
		return nil, fmt.Errorf("spec folder: %w", err)
	}
	return root, nil
}

// visit reads the file of e (or takes it from the cache) and puts its
// outcome in the index; it returns the file's record.
func (l *Loader) visit(e entry, force bool, now time.Time) *cachedFile {
	cf, r := l.readFile(e, force, now)
	l.idx.set(cf, r)
	return cf
}

// badFolder keeps the last-known-good specs of the files the Loader saw
// under a subfolder that cannot be read, which may be back on the next
// load; with no file known there, the folder itself is reported.
func (l *Loader) badFolder(bad badDir, load uint64) {
	kept := false
	for _, cf := range l.idx.under(bad.rel) {
		if cf.looked == load || cf.rel == bad.rel {
			continue
		}
		cf.looked = load
		kept = true
		cf.err, cf.specs, cf.hold, cf.goneSince = bad.err, nil, holdNone, time.Time{}
		// Read again once the folder is back, whatever its Stamp says.
		cf.badDir, cf.parsed = true, false
		l.idx.set(cf, l.result(cf))
	}
	if kept {
		if cf := l.cache[bad.rel]; cf != nil && cf.folder {
			l.drop(cf)
		}
		return
	}
	cf := l.cached(bad.rel, l.path(bad.rel))
	*cf = cachedFile{rel: cf.rel, path: cf.path, size: -1, err: bad.err, folder: true,
		indexed: cf.indexed, res: cf.res, conflicts: cf.conflicts, looked: load}
	l.idx.set(cf, fileResult{File: File{Path: cf.path, Err: bad.err}, rel: cf.rel})
}

// missing handles a file a load did not find: with last-known-good specs
// it is kept, pending, until a second load, Settle after the first, misses
// it too.
func (l *Loader) missing(cf *cachedFile, now time.Time) {
	if len(cf.lkg) == 0 {
		l.drop(cf) // nothing of it in force
		return
	}
	if cf.goneSince.IsZero() {
		cf.goneSince = now
	}
	if !now.Before(cf.goneSince.Add(l.opts.Settle)) {
		l.drop(cf) // missed twice, Settle apart: its specs go with it
		return
	}
	l.idx.set(cf, l.result(cf))
}

func (l *Loader) drop(cf *cachedFile) {
	delete(l.cache, cf.rel)
	l.idx.remove(cf)
}

// cached returns the cache entry of rel, making one when there is none.
func (l *Loader) cached(rel, path string) *cachedFile {
	cf := l.cache[rel]
	if cf == nil {
		cf = &cachedFile{rel: rel, path: path, size: -1}
		l.cache[rel] = cf
	}
	return cf
}

// snapshot is the folder as the index has it now.
func (l *Loader) snapshot(now time.Time) *Snapshot {
	l.idx.finish()
	snap := &Snapshot{Dir: l.dir, LoadedAt: now}
	l.idx.fill(snap)
	snap.Revision = gitRevision(l.dir)
	if snap.Revision != "" && l.opts.CheckoutChanges != nil {
		if snap.Changes = l.changes(snap); len(snap.Changes) > 0 {
			snap.Revision += "-dirty"
		}
	}
	return snap
}

// fileResult is one file's outcome and the specs it offers.
type fileResult struct {
	File
	rel      string
	specs    []*Container
	gone     bool      // removed, its specs kept until that is confirmed
	settleAt time.Time // when a pending change may apply; zero if none waits for time
}

func (l *Loader) path(rel string) string { return filepath.Join(l.dir, filepath.FromSlash(rel)) }

// readFile reads and parses the file of e, cached under e.rel, or takes it
// from the cache when it has not changed, and decides which specs are in
// force.
func (l *Loader) readFile(e entry, force bool, now time.Time) (*cachedFile, fileResult) {
	cf := l.cached(e.rel, e.path)
	cf.goneSince = time.Time{}
	cf.badDir, cf.folder = false, false
	cf.link = e.d != nil && e.d.Type()&fs.ModeSymlink != 0
	switch {
	case e.skip != nil:
		l.stats.Parsed++
		cf.forget()
		cf.specs, cf.err, cf.hold = nil, e.skip, holdNone
	case !force && l.unchanged(e, cf):
		l.stats.Reused++
	default:
		if same := l.read(e, cf, now); same && !force && cf.racy {
			l.stats.Reused++
		} else {
			l.stats.Parsed++
		}
	}
	if cf.hold != holdNone && cf.hold != holdEmpty && !now.Before(cf.holdSince.Add(l.opts.Settle)) {
		cf.accept(cf.specs, cf.holdText)
	}
	return cf, l.result(cf)
}

// forget drops what the last read found, so the next read parses.
func (cf *cachedFile) forget() {
	cf.size, cf.modTime, cf.stamp, cf.racy, cf.parsed = -1, time.Time{}, safefile.Stamp{}, false, false
}

// unchanged reports whether e has the Stamp the cache has for it, taken
// long enough after the file's last change to tell. It only looks; the
// read, if any, checks what it opens.
func (l *Loader) unchanged(e entry, cf *cachedFile) bool {
	if !cf.parsed || cf.racy || e.d == nil {
		return false
	}
	fi, err := e.stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	st, err := e.stamp(fi)
	return err == nil && st == cf.stamp
}

// read reads e's file into cf, and parses it unless its content is what
// the last read found (same reports that), whose outcome then stands.
func (l *Loader) read(e entry, cf *cachedFile, now time.Time) (same bool) {
	readAt := time.Now() // the file system's clock, not the Settle clock
	data, fi, stamp, err := l.readCapped(e)
	if err != nil {
		cf.forget()
		cf.specs, cf.err, cf.hold = nil, err, holdNone
		return false
	}
	cf.size, cf.modTime, cf.stamp, cf.racy = fi.Size(), fi.ModTime(), stamp, stamp.Racy(readAt)
	sum := sha256.Sum256(data)
	if cf.parsed && sum == cf.sum {
		return true
	}
	cf.sum, cf.parsed = sum, true
	specs, err := Parse(e.path, data)
	if err != nil {
		err = LocateSyntax(err, data, l.opts.LocateSyntax)
		cf.specs, cf.err, cf.hold = nil, err, holdNone
		return false
	}
	reason := cf.heldBack(data, specs)
	if reason == holdNone {
		cf.accept(specs, sumContent(data))
		return false
	}
	// A new version to wait for (the same one read again is the same
	// content, whose outcome stands with its time).
	cf.holdSince = now
	cf.specs, cf.err, cf.hold, cf.holdText = specs, nil, reason, sumContent(data)
	return false
}

// accept puts specs, read from the content text sums, in force.
func (cf *cachedFile) accept(specs []*Container, text contentSums) {
	cf.specs, cf.err, cf.lkg, cf.lkgText = specs, nil, specs, text
	cf.hold, cf.holdText = holdNone, contentSums{}
}

// heldBack says why specs, read from data, must not take the place of
// the file's last-known-good specs yet, or holdNone.
func (cf *cachedFile) heldBack(data []byte, specs []*Container) holdReason {
	if len(cf.lkg) == 0 {
		return holdNone // nothing to take away
	}
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return holdEmpty
	case cf.lkgText.cutShort(data):
		// Cut short inside a line, it is held below for that.
		return holdPrefix
	case data[len(data)-1] != '\n':
		return holdCutLine
	}
	declares := func(name string) bool {
		return slices.ContainsFunc(specs, func(c *Container) bool { return c.Name() == name })
	}
	if len(specs) > 16 {
		// Many documents: one pass, not one per name.
		names := make(map[string]bool, len(specs))
		for _, c := range specs {
			names[c.Name()] = true
		}
		declares = func(name string) bool { return names[name] }
	}
	for _, c := range cf.lkg {
		if !declares(c.Name()) {
			return holdLost
		}
	}
	return holdNone
}

// holdReason is why a valid read of a file is not in force yet.
type holdReason int

const (
	holdNone    holdReason = iota
	holdEmpty              // emptied: waits until written again or removed
	holdPrefix             // the beginning of its last good content
	holdCutLine            // ends inside a line
	holdLost               // no longer declares a name it declared
)

func (r holdReason) String() string {
	switch r {
	case holdEmpty:
		return "it is empty"
	case holdPrefix:
		return "it is a beginning of its last good content, as while it is being written"
	case holdCutLine:
		return "it ends inside a line, as while it is being written"
	case holdLost:
		return "it no longer declares every spec it did"
	}
	return ""
}

// readCapped reads e's file, at most MaxFileSize bytes, and returns it with
// what the opened file said of itself.
func (l *Loader) readCapped(e entry) ([]byte, fs.FileInfo, safefile.Stamp, error) {
	f, err := e.open()
	if err != nil {
		return nil, nil, safefile.Stamp{}, openError(e.path, err)
	}
	defer f.Close()
	data, fi, err := safefile.ReadAll(f, l.opts.MaxFileSize, l.opts.MaxReadTime)
	var stamp safefile.Stamp
	if err == nil {
		stamp, err = safefile.StampFile(f, fi)
	}
	var tl *safefile.TooLargeError
	switch {
	case errors.As(err, &tl):
		return nil, nil, stamp, &Error{File: e.path, Message: fmt.Sprintf("file is %s, larger than the limit of %s; split it into several files (or raise --max-file-size)",
			byteSize(tl.Size), byteSize(tl.Limit))}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, nil, stamp, &Error{File: e.path, Message: fmt.Sprintf("skipped: reading it waited longer than %v; it is not a regular file on disk", l.opts.MaxReadTime)}
	case err != nil:
		return nil, nil, stamp, &Error{File: e.path, Message: fmt.Sprintf("cannot read the file: %v", err)}
	}
	return data, fi, stamp, nil
}

// openError says why a spec file could not be opened, without a word of
// what it holds or where a link out of the folder leads.
func openError(path string, err error) *Error {
	switch {
	case errors.Is(err, safefile.ErrOutside):
		return &Error{File: path, Message: "skipped: a symbolic link that leads outside the spec folder; links are followed only within it (copy the file into the folder, or link to one inside it)"}
	case errors.Is(err, safefile.ErrNotRegular):
		return &Error{File: path, Message: fmt.Sprintf("skipped: %v; only regular files are read as specs", errors.Unwrap(err))}
	}
	return &Error{File: path, Message: fmt.Sprintf("cannot read the file: %v", err)}
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// result turns a cache entry into the file's outcome: its current specs
// when valid and in force, else its last-known-good ones, marked stale.
func (l *Loader) result(cf *cachedFile) fileResult {
	path := cf.path
	r := fileResult{rel: cf.rel, File: File{Path: path, Size: max(cf.size, 0), ModTime: cf.modTime, Err: cf.err}}
	switch {
	case !cf.goneSince.IsZero():
		r.gone = true
		r.specs, r.Stale, r.Pending = cf.lkg, true, true
		r.settleAt = cf.goneSince.Add(l.opts.Settle)
		r.Err = &Error{File: path, Message: fmt.Sprintf("removed; its last-known-good specs stay in force until a second read, %v after the first, misses it too", l.opts.Settle)}
	case cf.hold == holdEmpty:
		r.specs, r.Stale, r.Pending = cf.lkg, true, true
		r.Err = &Error{File: path, Message: "it is empty; its last-known-good specs stay in force until it is written again, or removed"}
	case cf.hold != holdNone:
		r.specs, r.Stale, r.Pending = cf.lkg, true, true
		r.settleAt = cf.holdSince.Add(l.opts.Settle)
		r.Err = &Error{File: path, Message: fmt.Sprintf("changed, but %s; its last-known-good specs stay in force until it has not changed for %v", cf.hold, l.opts.Settle)}
	case cf.err == nil:
		r.specs = cf.specs
	case cf.lkg != nil:
		r.specs = cf.lkg
		r.Stale = true
	}
	return r
}

// resolveNames picks one spec per name: the first in file order (files
// sorted by path, documents in file order). The others become conflicts
// naming the winner. A removed file whose removal is not confirmed yet
// comes after every file that is there, and loses without a conflict: a
// spec moved to another file is declared there already. It fills in each
// file's Names.
func resolveNames(files []fileResult) ([]*Container, []Conflict) {
	winners := map[string]*Container{}
	var specs []*Container
	var conflicts []Conflict
	passes := []bool{false}
	for _, f := range files {
		if f.gone {
			passes = append(passes, true)
			break
		}
	}
	for _, gone := range passes {
		for i := range files {
			f := &files[i]
			if f.gone != gone {
				continue
			}
			for _, c := range f.specs {
				if w, ok := winners[c.Name()]; ok {
					if !gone {
						conflicts = append(conflicts, Conflict{Name: c.Name(), Loser: c.Source, Winner: w.Source})
					}
					continue
				}
				winners[c.Name()] = c
				specs = append(specs, c)
				f.Names = append(f.Names, c.Name())
			}
		}
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name() < specs[j].Name() })
	return specs, conflicts
}

// walker hands the spec files under root to read, one by one.
type walker struct {
	root    *safefile.Root
	read    func(entry)
	badDirs []badDir
}

// entry is one spec file to read: its path relative to the folder
// (slash-separated) and as given, and, when a walk found it, the folder,
// the subfolder it is in (open only while the walk is there) and what the
// listing said of it. skip, when set, is why it is not read at all.
type entry struct {
	rel, path string
	root, dir *safefile.Root
	d         fs.DirEntry
	skip      *Error
}

// stat describes e's file for telling it unchanged. It only looks; the
// read, if any, checks what it opens. For a regular file what the listing
// says is enough (no link to follow; a listing in a Root has it already).
func (e entry) stat() (fs.FileInfo, error) {
	if e.d.Type()&fs.ModeSymlink == 0 {
		return e.d.Info()
	}
	fi, err := e.dir.Stat(e.d.Name())
	if errors.Is(err, safefile.ErrOutside) && e.dir != e.root {
		return e.root.Stat(e.rel) // out of the subfolder, maybe not out of the folder
	}
	return fi, err
}

// stamp is the safefile.Stamp of e's file, given fi, what stat said of it.
func (e entry) stamp(fi fs.FileInfo) (safefile.Stamp, error) {
	s, err := e.dir.Stamp(e.d.Name(), fi)
	if errors.Is(err, safefile.ErrOutside) && e.dir != e.root {
		return e.root.Stamp(e.rel, fi) // out of the subfolder, maybe not out of the folder
	}
	return s, err
}

// open opens e's file for reading: inside the folder, or, for a file named
// on its own, wherever its links lead.
func (e entry) open() (*os.File, error) {
	if e.root == nil {
		return safefile.Open(e.path)
	}
	f, err := e.dir.Open(e.d.Name())
	if errors.Is(err, safefile.ErrOutside) && e.dir != e.root {
		return e.root.Open(e.rel) // out of the subfolder, maybe not out of the folder
	}
	return f, err
}

type badDir struct {
	rel string
	err error
}

// walk lists the spec files of the folder. Only the folder's own failure
// is returned; a subfolder's is recorded in badDirs.
func (w *walker) walk() error {
	return walkFolder(w.root, w.visit, func(rel string, err error) {
		w.badDirs = append(w.badDirs, badDir{rel, &Error{File: w.path(rel), Message: fmt.Sprintf("cannot read the folder: %v", err)}})
	})
}

func (w *walker) visit(rel string, d fs.DirEntry, dir *safefile.Root) {
	if d.IsDir() || !isSpecFile(d.Name()) {
		return
	}
	w.read(specEntry(w.root, dir, rel, w.path(rel), d))
}

// specEntry is the entry of the spec file rel, listed as d in folder dir
// of the folder root.
func specEntry(root, dir *safefile.Root, rel, path string, d fs.DirEntry) entry {
	e := entry{rel: rel, path: path, root: root, dir: dir, d: d}
	if mode := d.Type(); !mode.IsRegular() && mode&fs.ModeSymlink == 0 {
		// Not even opened: a pipe or device may act on an open.
		e.skip = &Error{File: e.path, Message: fmt.Sprintf("skipped: %s, not a regular file; only regular files are read as specs", safefile.Describe(mode))}
	}
	return e
}

func (w *walker) path(rel string) string {
	return filepath.Join(w.root.Name(), filepath.FromSlash(rel))
}
