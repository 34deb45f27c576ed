package gitverify

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/isoagent/isoagent/spec"
)

// LoaderOptions configure a Loader. Keys is required.
type LoaderOptions struct {
	Keys *Keyring
	// Spec tunes the reading of spec files (size limit, clock).
	Spec spec.LoaderOptions
	// Logger receives one warning per refused revision and one line per
	// verified one. Default: discarded.
	Logger *slog.Logger
	// OnRefused, when set, is called when the checkout comes to a refused
	// revision (once per revision, with its refusal), and with nil when
	// it comes to a verified revision again. It runs on the caller of
	// Load and must not block.
	OnRefused func(*RefusalError)
}

// A Loader reads a spec folder in a git checkout the way spec.Loader
// reads a plain folder, but only from commits signed with a key of its
// keyring, and only what those commits hold: the specs come from the
// commit's tree, so uncommitted changes in the working tree never count.
//
// While the checkout is at a refused revision, Load returns the snapshot
// of the last verified revision (the same *spec.Snapshot, so a watcher
// sees nothing new), or, before any revision was verified, the refusal as
// its error: nothing unverified is ever handed on. Each refused revision
// is logged and reported through OnRefused once, however often the folder
// is read.
//
// It satisfies spec.SnapshotLoader and spec.FullReloader; like
// spec.Loader it is not safe for concurrent use.
type Loader struct {
	dir     string
	opts    LoaderOptions
	log     *slog.Logger
	inner   *spec.Loader
	last    *spec.Snapshot // of the last verified revision
	refused string         // the revision last refused, while the checkout is at it
	lastErr error          // its refusal
}

// NewLoader returns a Loader of dir; it reads nothing until Load.
func NewLoader(dir string, opts LoaderOptions) *Loader {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Loader{dir: dir, opts: opts, log: log, inner: spec.NewLoader(dir, opts.Spec)}
}

// Load reads the revision the checkout is at, when it is verified and
// differs from the one read last. A commit's content never changes, so
// Reload is Load.
func (l *Loader) Load() (*spec.Snapshot, error) {
	rev, err := Head(l.dir)
	if err != nil {
		return nil, err
	}
	hash := rev.Hash()
	if l.last != nil && l.last.Revision == hash {
		l.clearRefusal()
		return l.last, nil
	}
	if hash == l.refused {
		return l.keep()
	}
	signer, err := l.opts.Keys.Verify(rev.Commit)
	var refusal *RefusalError
	if errors.As(err, &refusal) {
		l.refuse(refusal)
		return l.keep()
	}
	if err != nil {
		return nil, err
	}
	tree, err := rev.Tree()
	if err != nil {
		return nil, err
	}
	snap, err := l.inner.LoadFS(tree, hash)
	if err != nil {
		return nil, err
	}
	l.log.Info("revision verified", "revision", hash, "signer", signer.String())
	l.last = snap
	l.clearRefusal()
	return snap, nil
}

// Reload is Load: what a verified commit holds cannot change.
func (l *Loader) Reload() (*spec.Snapshot, error) { return l.Load() }

// Refusal returns the refusal of the revision the checkout was at when
// last read, or nil when that revision is verified.
func (l *Loader) Refusal() *RefusalError {
	var r *RefusalError
	errors.As(l.lastErr, &r)
	return r
}

func (l *Loader) keep() (*spec.Snapshot, error) {
	if l.last == nil {
		return nil, fmt.Errorf("%w; no verified revision has been read yet, so nothing is applied", l.lastErr)
	}
	return l.last, nil
}

func (l *Loader) refuse(r *RefusalError) {
	l.refused, l.lastErr = r.Revision, r
	kept := "no verified revision is in force yet"
	if l.last != nil {
		kept = "revision " + l.last.Revision + " stays in force"
	}
	l.log.Warn("revision refused; "+kept, "revision", r.Revision, "reason", string(r.Reason), "detail", r.Detail, "dir", l.dir)
	if l.opts.OnRefused != nil {
		l.opts.OnRefused(r)
	}
}

func (l *Loader) clearRefusal() {
	if l.refused == "" {
		return
	}
	l.refused, l.lastErr = "", nil
	if l.opts.OnRefused != nil {
		l.opts.OnRefused(nil)
	}
}

var (
	_ spec.SnapshotLoader = (*Loader)(nil)
	_ spec.FullReloader   = (*Loader)(nil)
)
