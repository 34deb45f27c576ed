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
	// Stale reports that the file is invalid now and its specs in force
	// are the last-known-good ones from an earlier read.
	Stale bool `json:"stale,omitempty"`
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
