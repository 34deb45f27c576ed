package pull

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/registry"
)

// Puller is the agent's image puller component; see the package doc. It
// is a reconcile.Images. Create it with New and run it with Run; its other
// methods are safe to call from any goroutine, before and while Run runs
// (what they ask for starts once Run runs).
type Puller struct {
	opts Options
	log  *slog.Logger
	// wake tells Run that something waits to be started.
	wake chan struct{}

	mu sync.Mutex
	// client asks the registries: Options.Client, then what SetClient set.
	client  *registry.Client
	lookups map[lookupKey]*lookup
	jobs    map[string]*job // by digest
	// wanted is when an image (by digest) was last asked for: it is not
	// collected for GCAge after.
	wanted map[string]time.Time
}

var _ reconcile.Images = (*Puller)(nil)

// maxLookups bounds the look-ups that run at once: each is a request or
// two, but a folder may name many images.
const maxLookups = 4

// forgetAfter is how long a failed pull, or a look-up, nobody asks about
// any more is kept.
const forgetAfter = 10 * time.Minute

type lookupKey struct {
	ref  string
	host driver.OSVersion
}

// lookup is what the puller knows of one reference for one host.
type lookup struct {
	ref  imageref.Ref
	host driver.Host
	// answer is the registry's last answer, at answeredAt; err the last
	// attempt's failure (after an answer, the answer stays in force).
	answer     *registry.Resolved
	answeredAt time.Time
	err        error
	failures   int
	retryAt    time.Time
	// queued: to be started by Run; running: under way.
	queued, running bool
	askedAt         time.Time
}

// job is one image to pull (by digest), from its first request until it
// is stored.
type job struct {
	ref      imageref.Ref
	digest   string
	resolved *registry.Resolved // how it was resolved, when a look-up did
	queued   bool
	running  bool
	cancel   context.CancelCauseFunc
	started  time.Time
	lastByte time.Time
	lastLog  time.Time
	done     int64
	total    int64
	attempts int
	err      error
	retryAt  time.Time
	askedAt  time.Time
}

// New returns a puller; it starts nothing until Run.
func New(opts Options) (*Puller, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	return &Puller{
		opts:    opts,
		client:  opts.Client,
		log:     opts.Logger.With("component", "puller"),
		wake:    make(chan struct{}, 1),
		lookups: make(map[lookupKey]*lookup),
		jobs:    make(map[string]*job),
		wanted:  make(map[string]time.Time),
	}, nil
}

func (p *Puller) now() time.Time { return p.opts.Clock() }

// SetClient makes c the client of the look-ups and pulls that start from
// now on (the registries file changed: credentials, mirrors, CAs); those
// under way finish with the client they started with. A failed look-up or
// pull is tried again at once rather than after its backoff, since what
// failed may be what the change fixes.
func (p *Puller) SetClient(c *registry.Client) {
	now := p.now()
	var refs []imageref.Ref
	p.mu.Lock()
	p.client = c
	for _, l := range p.lookups {
		if l.err != nil && !l.running {
			l.retryAt = now
			refs = append(refs, l.ref)
		}
	}
	for _, j := range p.jobs {
		if j.err != nil && !j.running {
			j.retryAt = now
			refs = append(refs, j.ref)
		}
	}
	p.mu.Unlock()
	p.signal()
	for _, r := range refs {
		p.opts.OnChange(r)
	}
}

// currentClient is the client a look-up or pull starting now uses.
func (p *Puller) currentClient() *registry.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.client
}

func (p *Puller) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Lookup implements reconcile.RegistrySource without blocking: it answers
// with what the registry said last, asks it (again) in the background when
// there is no answer yet or, with fresh, when the answer is older than
// Options.Refresh, and wraps reconcile.ErrLookupPending until the first
// answer, or the last failure while there is none (with
// reconcile.ErrNoVariant for an image without a variant for host).
func (p *Puller) Lookup(_ context.Context, ref imageref.Ref, fresh bool, host driver.Host) (reconcile.RegistryAnswer, error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	key := lookupKey{ref.String(), host.OSVersion}
	l := p.lookups[key]
	if l == nil {
		l = &lookup{ref: ref, host: host}
		p.lookups[key] = l
	}
	l.askedAt = now
	if l.answer != nil {
		if fresh && now.Sub(l.answeredAt) >= p.opts.Refresh {
			p.queueLookupLocked(l, now)
		}
		p.wanted[l.answer.Digest] = now
		ans := reconcile.RegistryAnswer{Digest: l.answer.Digest, OSVersion: l.answer.OSVersion, Stale: l.err}
		return ans, nil
	}
	p.queueLookupLocked(l, now)
	switch {
	case l.err == nil:
		return reconcile.RegistryAnswer{}, fmt.Errorf("image %s: %w", ref, reconcile.ErrLookupPending)
	case errors.Is(l.err, registry.ErrNoVariant):
		return reconcile.RegistryAnswer{}, fmt.Errorf("%w: %w", reconcile.ErrNoVariant, l.err)
	}
	return reconcile.RegistryAnswer{}, l.err
}

// queueLookupLocked asks for l to be looked up, unless it is under way or
// backs off after a failure.
func (p *Puller) queueLookupLocked(l *lookup, now time.Time) {
	if l.queued || l.running || now.Before(l.retryAt) {
		return
	}
	l.queued = true
	p.signal()
}

// Ensure implements reconcile.Images: the host has the image (by digest,
// when one is given), or a pull of it runs, waits for a slot, or waits to
// be tried again; it starts one when none does.
func (p *Puller) Ensure(ctx context.Context, ref imageref.Ref, digest string) reconcile.PullState {
	now := p.now()
	if digest == "" {
		p.mu.Lock()
		// What the host has under ref runs; a look-up may know its digest.
		for k, l := range p.lookups {
			if k.ref == ref.String() && l.answer != nil {
				digest = l.answer.Digest
			}
		}
		p.mu.Unlock()
	}
	if digest != "" {
		p.mu.Lock()
		p.wanted[digest] = now
		if j := p.jobs[digest]; j != nil {
			j.askedAt = now
			if !j.running && !j.queued && !now.Before(j.retryAt) {
				j.queued = true
				p.signal()
			}
			st := j.state()
			p.mu.Unlock()
			return st
		}
		p.mu.Unlock()
	}
	asked := ref
	if digest != "" {
		asked.Digest = digest
	}
	img, err := p.opts.Host.Image(ctx, asked)
	if (err == nil && (digest == "" || img.Digest == digest)) || digest == "" {
		// The host has it; or there is nothing to pull by (the host's
		// image is what runs, and creating the container says if it went).
		return reconcile.PullState{Ref: ref, Digest: digest, Ready: true}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	j := p.jobs[digest]
	if j == nil {
		j = &job{ref: ref, digest: digest, queued: true, askedAt: now}
		for _, l := range p.lookups {
			if l.answer != nil && l.answer.Digest == digest {
				r := *l.answer
				j.resolved = &r
			}
		}
		p.jobs[digest] = j
		p.log.Info("image to pull", "image", ref, "digest", digest)
		p.signal()
	}
	return j.state()
}

func (j *job) state() reconcile.PullState {
	st := reconcile.PullState{
		Ref: j.ref, Digest: j.digest, Pulling: j.running || j.queued, Queued: j.queued,
		BytesDone: j.done, BytesTotal: j.total, StartedAt: j.started, Attempts: j.attempts, RetryAt: j.retryAt,
	}
	if j.err != nil {
		st.Error = j.err.Error()
	}
	return st
}

// Pulls implements reconcile.Images: the pulls that run, wait, or failed
// and wait to be tried again, by image.
func (p *Puller) Pulls() []reconcile.PullState {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]reconcile.PullState, 0, len(p.jobs))
	for _, j := range p.jobs {
		out = append(out, j.state())
	}
	slices.SortFunc(out, func(a, b reconcile.PullState) int { return cmp.Compare(a.Digest, b.Digest) })
	return out
}

// Run runs the look-ups and pulls asked for, logs progress, cancels
// stalled pulls and collects unused images, until ctx ends; it returns
// once every goroutine it started has. Run may be called once.
func (p *Puller) Run(ctx context.Context) error {
	if err := registry.CleanPartial(p.opts.Dir); err != nil {
		p.log.Warn("cannot remove half-downloaded blobs", "dir", p.opts.Dir, "err", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(min(time.Second, p.opts.StallTimeout/4, p.opts.ProgressInterval))
	defer tick.Stop()
	nextGC := p.now().Add(p.opts.GCInterval)
	for {
		p.start(ctx, &wg)
		select {
		case <-ctx.Done():
			p.mu.Lock()
			for _, j := range p.jobs {
				if j.cancel != nil {
					j.cancel(ctx.Err())
				}
			}
			p.mu.Unlock()
			return nil
		case <-p.wake:
		case <-tick.C:
			now := p.now()
			p.watch(now)
			if p.opts.GCAge > 0 && !now.Before(nextGC) {
				nextGC = now.Add(p.opts.GCInterval)
				wg.Go(func() { p.collect(ctx) })
			}
		}
	}
}

// start starts the look-ups and pulls that are queued, within the limits,
// and queues again the failed ones whose backoff is over and that are
// still asked for.
func (p *Puller) start(ctx context.Context, wg *sync.WaitGroup) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	running := 0
	for _, l := range p.lookups {
		if l.running {
			running++
		}
	}
	for _, l := range p.lookups {
		if running >= maxLookups {
			break
		}
		if l.queued {
			l.queued, l.running = false, true
			running++
			wg.Go(func() { p.lookup(ctx, l) })
		}
	}
	pulling := 0
	var waiting []*job
	for _, j := range p.jobs {
		switch {
		case j.running:
			pulling++
		case j.queued:
			waiting = append(waiting, j)
		}
	}
	// First asked, first pulled.
	slices.SortFunc(waiting, func(a, b *job) int { return a.askedAt.Compare(b.askedAt) })
	for _, j := range waiting {
		if pulling >= p.opts.MaxPulls {
			break
		}
		jctx, cancel := context.WithCancelCause(ctx)
		j.queued, j.running, j.cancel = false, true, cancel
		j.started, j.lastByte, j.lastLog, j.done, j.total = now, now, now, 0, 0
		pulling++
		wg.Go(func() { p.pull(jctx, j) })
	}
	p.opts.Observer.PullsInProgress(pulling)
}

// lookup asks the registry about l.
func (p *Puller) lookup(ctx context.Context, l *lookup) {
	r, err := p.currentClient().Resolve(ctx, l.ref, l.host.OSVersion)
	if ctx.Err() != nil {
		return
	}
	now := p.now()
	p.mu.Lock()
	l.running = false
	var changed bool
	if err != nil {
		changed = l.err == nil || l.err.Error() != err.Error()
		l.err, l.failures = err, l.failures+1
		l.retryAt = now.Add(backoff(p.opts.BackoffBase, p.opts.BackoffMax, l.failures))
	} else {
		changed = l.answer == nil || l.answer.Digest != r.Digest || l.err != nil
		l.answer, l.answeredAt, l.err, l.failures, l.retryAt = &r, now, nil, 0, time.Time{}
	}
	p.mu.Unlock()
	p.signal()
	if err != nil {
		p.opts.Observer.PullFailed(registry.Reason(err))
		if changed {
			p.log.Warn("cannot look the image up in its registry; asking again with backoff", "image", l.ref, "err", err, "retry_at", l.retryAt.Round(time.Second))
		}
	} else if changed {
		p.log.Info("the registry names an image", "image", l.ref, "digest", r.Digest, "os_version", r.OSVersion.String(), "from", r.From)
	}
	if changed {
		p.opts.OnChange(l.ref)
	}
}

// pull downloads and stores the image of j.
func (p *Puller) pull(ctx context.Context, j *job) {
	p.mu.Lock()
	r := registry.Resolved{Ref: j.ref, Digest: j.digest}
	if j.resolved != nil {
		r = *j.resolved
	}
	attempt := j.attempts + 1
	p.mu.Unlock()
	start := p.now()
	p.log.Info("pulling image", "image", j.ref, "digest", j.digest, "attempt", attempt)
	err := fetchAndStore(ctx, p.currentClient(), p.opts.Store, r, p.opts.Dir, func(pr Progress) {
		p.mu.Lock()
		if delta := pr.Done - j.done; delta > 0 {
			j.lastByte = p.now()
			p.opts.Observer.PullBytes(delta)
		}
		j.done, j.total = pr.Done, pr.Total
		p.mu.Unlock()
	})
	if err != nil && errors.Is(context.Cause(ctx), registry.ErrStalled) {
		err = fmt.Errorf("%w: no byte in %s (%d of %d bytes done)", registry.ErrStalled, p.opts.StallTimeout, j.done, j.total)
	}
	took := p.now().Sub(start)
	p.mu.Lock()
	j.running, j.cancel = false, nil
	if err == nil {
		delete(p.jobs, j.digest)
	} else if !errors.Is(err, context.Canceled) || errors.Is(context.Cause(ctx), registry.ErrStalled) {
		j.err, j.attempts = err, j.attempts+1
		j.retryAt = p.now().Add(jitter(backoff(p.opts.BackoffBase, p.opts.BackoffMax, j.attempts)))
		p.askAgainLocked(j.digest, p.now())
	}
	done, total, attempts, retryAt := j.done, j.total, j.attempts, j.retryAt
	p.mu.Unlock()
	p.signal()
	switch {
	case err == nil:
		p.opts.Observer.PullDone(true, took)
		p.log.Info("pulled image", "image", j.ref, "digest", j.digest, "bytes", done, "duration", took.Round(time.Millisecond))
		p.opts.OnChange(j.ref)
	case ctx.Err() != nil && !errors.Is(context.Cause(ctx), registry.ErrStalled):
		// The agent stops: the next run starts the pull again.
	default:
		p.opts.Observer.PullDone(false, took)
		p.opts.Observer.PullFailed(registry.Reason(err))
		p.log.Error("image pull failed; trying again with backoff", "image", j.ref, "digest", j.digest,
			"bytes", done, "total", total, "attempts", attempts, "retry_at", retryAt.Round(time.Second), "err", err)
		p.opts.OnChange(j.ref)
	}
}

// askAgainLocked looks up again the tags that resolved to digest, whose
// pull failed: the tag may have moved since (a fixed image pushed under
// it, the broken one deleted), and retrying the old digest alone would
// never see it. A moved tag reaches the engine through OnChange.
func (p *Puller) askAgainLocked(digest string, now time.Time) {
	for _, l := range p.lookups {
		if l.ref.Digest == "" && l.answer != nil && l.answer.Digest == digest {
			p.queueLookupLocked(l, now)
		}
	}
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// watch logs the progress of running pulls, cancels the stalled ones, and
// forgets the failed pulls and look-ups nobody asks about any more.
func (p *Puller) watch(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for d, j := range p.jobs {
		switch {
		case j.running && now.Sub(j.lastByte) >= p.opts.StallTimeout:
			p.log.Warn("image pull stalled; cancelling it", "image", j.ref, "digest", j.digest, "bytes", j.done, "total", j.total, "stalled_for", now.Sub(j.lastByte).Round(time.Second))
			j.cancel(registry.ErrStalled)
		case j.running && now.Sub(j.lastLog) >= p.opts.ProgressInterval:
			j.lastLog = now
			attrs := []any{"image", j.ref, "digest", j.digest, "bytes", j.done, "total", j.total, "elapsed", now.Sub(j.started).Round(time.Second)}
			if j.total > 0 {
				attrs = append(attrs, "percent", j.done*100/j.total)
			}
			p.log.Info("pulling image", attrs...)
		case !j.running && !j.queued && now.Sub(j.askedAt) >= forgetAfter:
			delete(p.jobs, d)
		case !j.running && !j.queued && !now.Before(j.retryAt) && now.Sub(j.askedAt) < forgetAfter:
			j.queued = true
			p.signal()
		}
	}
	for k, l := range p.lookups {
		if !l.running && !l.queued && now.Sub(l.askedAt) >= forgetAfter {
			delete(p.lookups, k)
		}
	}
	for d, at := range p.wanted {
		if p.opts.GCAge > 0 && now.Sub(at) > p.opts.GCAge {
			delete(p.wanted, d)
		}
	}
}

// collect removes the pulled images that no container has used, nobody
// has asked for and nothing pulls, for GCAge.
func (p *Puller) collect(ctx context.Context) {
	images, err := p.opts.Store.PulledImages(ctx)
	if err != nil {
		p.log.Warn("cannot list the pulled images", "err", err)
		return
	}
	now := p.now()
	removed, freed := 0, int64(0)
	for _, img := range images {
		p.mu.Lock()
		_, pulling := p.jobs[img.Digest]
		last := latest(img.PulledAt, img.LastUsed, p.wanted[img.Digest])
		p.mu.Unlock()
		if pulling || now.Sub(last) < p.opts.GCAge {
			continue
		}
		n, err := p.opts.Store.RemovePulledImage(ctx, img.Digest)
		switch {
		case errors.Is(err, driver.ErrInvalidState):
			continue // a container of some owner was created from it
		case err != nil:
			p.log.Warn("cannot remove an unused image", "digest", img.Digest, "refs", img.Refs, "err", err)
			continue
		}
		removed, freed = removed+1, freed+n
		p.log.Info("removed an unused image", "digest", img.Digest, "refs", img.Refs, "bytes", n, "unused_for", now.Sub(last).Round(time.Minute))
	}
	if removed > 0 {
		p.opts.Observer.ImagesCollected(removed, freed)
	}
}
