package spec

import "time"

// Snapshot is what a spec folder declares at one moment: the specs in force
// and the outcome for every file. Specs of a file that has turned invalid
// stay in force (last-known-good) when the snapshot comes from a Loader that
// saw the file valid before.
type Snapshot struct {
	// Dir is the folder that was loaded.
	Dir string `json:"dir"`
	// Revision is the git revision of the folder's content, when it can be
	// told; empty otherwise.
	Revision string `json:"revision,omitempty"`
	// Changes are the spec files (relative to Dir, slash-separated) that
	// differ from Revision's commit: uncommitted, staged or untracked.
	// Revision then ends in "-dirty".
	Changes []string `json:"changes,omitempty"`
	// Specs are the specs in force, one per name (conflict losers left
	// out), sorted by name.
	Specs []*Container `json:"specs"`
	// Files are the spec files seen, sorted by path.
	Files []File `json:"files"`
	// Conflicts are the specs left out because an earlier path in sort
	// order declared the same name.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// LoadedAt is when the folder was read.
	LoadedAt time.Time `json:"loadedAt"`
	// SettleAt, when not zero, is when a pending change (see File.Pending)
	// will have been quiet long enough to apply, if a read then finds it
	// unchanged. A Watcher reads the folder again at that time.
	SettleAt time.Time `json:"-"`
}

// File is the outcome of reading one spec file.
type File struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modTime"`
	// Names are the names of the specs this file contributes to the
	// snapshot, including last-known-good ones.
	Names []string `json:"names,omitempty"`
	// Err is nil for a valid file; otherwise every problem found, as a
	// *multierror.Error of *Error (or a single *Error for I/O problems).
	Err error `json:"-"`
	// Stale reports that the file's specs in force are the last-known-good
	// ones from an earlier read: it is invalid, unreadable or Pending now.
	Stale bool `json:"stale,omitempty"`
	// Pending reports a change that would take specs away and may be a
	// half-written file or a file in the middle of a replacement: the
	// file was emptied, cut short or lost a name it declared, or it was
	// removed. Its last-known-good specs stay in force until the change
	// settles (see Loader); Err says why and until when.
	Pending bool `json:"pending,omitempty"`
}

// Valid reports whether the file decoded and validated without error.
func (f File) Valid() bool { return f.Err == nil }

// Conflict records a spec left out because another file declared its name
// first.
type Conflict struct {
	Name   string `json:"name"`
	Loser  Source `json:"loser"`
	Winner Source `json:"winner"`
}
