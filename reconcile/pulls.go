package reconcile

import (
	"context"
	"errors"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
)

// Images pulled from registries: what admission and the engine ask of
// the component that pulls them (package pull's Puller), and what they
// make of its answers.
//
// Admission asks a RegistrySource which image a spec's reference names
// for this host before anything is downloaded, and checks that image's
// build: an image without a variant the host can run is refused as a
// version mismatch, with no byte of it fetched. The engine asks its Images
// to have the image of a config on the host before it creates the
// container, and until then takes no step: a container that runs keeps
// running while the image it is to be replaced from is pulled (the staged
// switch), and a pull that fails leaves it running and is retried with
// backoff, reported as the condition ImagePullFailed. Neither ever blocks
// on a registry: the engine's workers go on with other specs.

// RegistrySource says what a registry holds of an image, for admission.
type RegistrySource interface {
	// Lookup returns what the registry says ref names for host. fresh
	// asks for an answer given since the last resync (imagePullPolicy
	// Always): the engine's source then answers with what it knew and
	// asks again in the background. It wraps ErrLookupPending when there
	// is no answer yet (the engine's source asks in the background and the
	// engine admits again when it comes), ErrNoVariant when the image has
	// no variant for the host, or else the registry's error.
	Lookup(ctx context.Context, ref imageref.Ref, fresh bool, host driver.Host) (RegistryAnswer, error)
}

// RegistryAnswer is what a registry says a reference names for a host.
type RegistryAnswer struct {
	// Digest is the manifest digest of the image to run (the chosen
	// entry's, for a manifest list).
	Digest string
	// OSVersion is its Windows version, as the registry tells it; zero
	// when it does not.
	OSVersion driver.OSVersion
	// Stale, when set, says that the registry could not be asked again
	// just now: the answer is the last one it gave.
	Stale error
}

// Sentinel errors of a RegistrySource.
var (
	// ErrLookupPending: the registry has not answered yet.
	ErrLookupPending = errors.New("waiting for the registry's answer")
	// ErrNoVariant: the image has no variant this host can run.
	ErrNoVariant = errors.New("no variant of the image for this host")
)

// Images is a RegistrySource that also pulls images onto the host. Its
// methods never block on a registry: pulls run on its own goroutines.
type Images interface {
	RegistrySource
	// Ensure reports where the image a config names (ref, and the digest
	// admission chose; "" for what the host has under ref) stands on the
	// host, and starts pulling it when the host lacks it and no pull of
	// it runs. It may ask the driver whether the host has the image.
	Ensure(ctx context.Context, ref imageref.Ref, digest string) PullState
	// Pulls returns the pulls it knows of, for status.
	Pulls() []PullState
}

// PullState is where one image stands: on the host, being pulled, or
// waiting to be pulled again after a failure.
type PullState struct {
	Ref    imageref.Ref `json:"image"`
	Digest string       `json:"digest,omitempty"`
	// Ready: the host has the image.
	Ready bool `json:"ready,omitempty"`
	// Pulling: a pull runs now (or waits for a free slot, Queued).
	Pulling bool `json:"pulling,omitempty"`
	Queued  bool `json:"queued,omitempty"`
	// BytesDone of BytesTotal have been downloaded; total is zero until
	// the image's manifest is in.
	BytesDone  int64     `json:"bytesDone,omitempty"`
	BytesTotal int64     `json:"bytesTotal,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	// Attempts is how many pulls of it have failed in a row; Error the
	// last failure (the registry's message) and RetryAt when it is tried
	// again.
	Attempts int       `json:"attempts,omitempty"`
	Error    string    `json:"error,omitempty"`
	RetryAt  time.Time `json:"retryAt,omitzero"`
}

// key names the image of a pull: its digest when it has one, else its
// reference.
func (p PullState) key() string { return pullKey(p.Ref, p.Digest) }

func pullKey(ref imageref.Ref, digest string) string {
	if digest != "" {
		return digest
	}
	return ref.String()
}

// pullPoll is how often a name that waits for its image looks again; a
// pull that ends enqueues the names waiting for it at once, so this only
// bounds what a lost notification costs.
const pullPoll = 2 * time.Second

// imageWait holds back creating a container whose image the host does not
// have yet: it asks for the pull and says how long to wait. The container
// the action replaces keeps running meanwhile.
func (r *containerReconciler) imageWait(ctx context.Context, name string, a Action) time.Duration {
	if r.images == nil || (a.Kind != ActionCreate && a.Kind != ActionRecreate) || a.Config == nil {
		return 0
	}
	st := r.images.Ensure(ctx, a.Config.Image, a.Config.ImageDigest)
	if st.Ready {
		return 0
	}
	switch {
	case st.Error != "":
		r.log.Debug("the image pull failed; the container waits for the next attempt", "spec", name, "image", a.Config.Image, "digest", a.Config.ImageDigest, "retry_at", st.RetryAt, "err", st.Error)
	default:
		r.log.Debug("waiting for the image pull", "spec", name, "image", a.Config.Image, "digest", a.Config.ImageDigest)
	}
	return pullPoll
}

// waitsForRegistry reports whether d is a wait for a registry's answer
// (a spec that runs once the registry answers), not a refusal.
func waitsForRegistry(d *Decision) bool {
	return d != nil && !d.Admitted() && d.Rejection.Reason == ReasonImagePull && d.Rejection.Retry
}
