// Package pull is the agent's image puller: the component that asks
// registries which image a spec's reference names (for admission, never
// blocking it), pulls the images the engine asks for into the driver's
// image store, and removes pulled images no container has used for a
// while.
//
// It promises: one pull per image however many specs name it; at most
// MaxPulls pulls at once; a pull that receives no byte for StallTimeout is
// cancelled and, like any failed pull or look-up, tried again with
// exponential backoff while something still asks for it; progress logged
// every ProgressInterval; an image being pulled or asked for, or that a
// container was created from, is never collected. Its methods never block
// on a registry: look-ups and pulls run on goroutines Run owns, and the
// engine hears of their results through Options.OnChange.
//
// Image pulls one image by hand, for `isoagent pull`, with the same code.
package pull

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/registry"
)

// Progress is where a pull stands.
type Progress struct {
	// Done of Total bytes are downloaded; Total is zero until the image's
	// manifest is in.
	Done, Total int64
}

// Image pulls the image ref names for host into store, downloading its
// blobs into dir, and returns what the registry resolved ref to. It asks
// the registry afresh (a tag is looked up again), refuses an image with
// no variant for host, and reports progress to onProgress (which must not
// block) as bytes arrive. The blobs are removed once the store has the
// image; after a failure those downloaded whole stay, so that the next
// attempt resumes from them.
func Image(ctx context.Context, c *registry.Client, store driver.ImageStore, ref imageref.Ref, host driver.Host, dir string, onProgress func(Progress)) (registry.Resolved, error) {
	r, err := c.Resolve(ctx, ref, host.OSVersion)
	if err != nil {
		return r, err
	}
	return r, fetchAndStore(ctx, c, store, r, dir, onProgress)
}

// fetchAndStore downloads r into dir and hands it to store.
func fetchAndStore(ctx context.Context, c *registry.Client, store driver.ImageStore, r registry.Resolved, dir string, onProgress func(Progress)) error {
	var p Progress
	report := func() {
		if onProgress != nil {
			onProgress(p)
		}
	}
	dl, err := c.Fetch(ctx, r, registry.FetchOptions{
		Dir:      dir,
		Total:    func(n int64) { p.Total = n; report() },
		Progress: func(n int64) { p.Done += n; report() },
	})
	if err != nil {
		return err
	}
	if err := store.ImportImage(ctx, dl.Image()); err != nil {
		return fmt.Errorf("store image %s (%s): %w", r.Ref, r.Digest, err)
	}
	if err := dl.RemoveBlobs(); err != nil {
		// The image is stored; blobs left behind only take space.
		return nil
	}
	return nil
}

// Observer is told what the puller does, for metrics. Its methods are
// called from the puller's goroutines and must not block.
type Observer interface {
	// PullBytes counts bytes downloaded.
	PullBytes(n int64)
	// PullDone records a pull attempt that ended, and how long it took.
	PullDone(ok bool, d time.Duration)
	// PullFailed counts a failed look-up or pull, by registry.Reason.
	PullFailed(reason string)
	// PullsInProgress says how many pulls run now.
	PullsInProgress(n int)
	// ImagesCollected records what one garbage collection removed.
	ImagesCollected(removed int, freed int64)
}

// NopObserver ignores everything.
type NopObserver struct{}

func (NopObserver) PullBytes(int64)              {}
func (NopObserver) PullDone(bool, time.Duration) {}
func (NopObserver) PullFailed(string)            {}
func (NopObserver) PullsInProgress(int)          {}
func (NopObserver) ImagesCollected(int, int64)   {}

// HostImages tells what the host has of an image; driver.Driver is one.
type HostImages interface {
	Image(ctx context.Context, ref imageref.Ref) (driver.Image, error)
}

// Options configure a Puller. Client, Store, Host and Dir are required.
type Options struct {
	Client *registry.Client
	// Store stores the pulled images; Host tells what the host has (both
	// are the driver).
	Store driver.ImageStore
	Host  HostImages
	// Dir is where blobs are downloaded to before the store takes them.
	Dir string
	// MaxPulls bounds the pulls that run at once (default 2).
	MaxPulls int
	// StallTimeout cancels a pull that receives no byte for this long
	// (default 2m); it is tried again with backoff.
	StallTimeout time.Duration
	// ProgressInterval is how often a running pull logs its progress
	// (default 5s).
	ProgressInterval time.Duration
	// BackoffBase and BackoffMax bound the wait before a failed look-up
	// or pull is tried again (defaults 5s and 5m).
	BackoffBase, BackoffMax time.Duration
	// Refresh is how old an answer may be for a look-up that asks for a
	// fresh one (imagePullPolicy Always): the engine's resync interval
	// (default 30s).
	Refresh time.Duration
	// GCAge is how long a pulled image no container uses is kept (default
	// 24h); negative keeps every image. GCInterval is how often that is
	// looked at (default an hour, at most GCAge).
	GCAge, GCInterval time.Duration
	// OnChange is told of an image whose look-up answered (or changed its
	// answer) or whose pull ended; the engine's ImagesChanged. It must not
	// block.
	OnChange func(imageref.Ref)
	// Clock tells the time (time.Now when nil); timers are the runtime's.
	Clock func() time.Time
	// Observer defaults to NopObserver; Logger to slog.Default().
	Observer Observer
	Logger   *slog.Logger
}

func (o *Options) defaults() error {
	if o.Client == nil || o.Store == nil || o.Host == nil || o.Dir == "" {
		return errors.New("pull: a registry client, an image store, the host and a download folder are required")
	}
	if o.MaxPulls <= 0 {
		o.MaxPulls = 2
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = 2 * time.Minute
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = 5 * time.Second
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 5 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Minute
	}
	if o.Refresh <= 0 {
		o.Refresh = 30 * time.Second
	}
	if o.GCAge == 0 {
		o.GCAge = 24 * time.Hour
	}
	if o.GCInterval <= 0 {
		o.GCInterval = time.Hour
		if o.GCAge > 0 && o.GCAge < o.GCInterval {
			o.GCInterval = o.GCAge
		}
	}
	if o.OnChange == nil {
		o.OnChange = func(imageref.Ref) {}
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Observer == nil {
		o.Observer = NopObserver{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// backoff is the wait after the n-th failure in a row: base doubling,
// capped at max.
func backoff(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
