package driver

import (
	"context"
	"io"
	"time"

	"github.com/isoagent/isoagent/imageref"
)

// ImageStore is a driver that keeps images isoagent pulled from a registry
// itself (package pull downloads them; the driver stores them its way: the
// sim in its catalog, the hcs driver as layer folders imported once per
// chain ID). Images it stores are found by Image and run by Create like
// any other, by reference or by digest (Config.ImageDigest).
type ImageStore interface {
	// ImportImage stores img. The reference it was pulled by then names
	// it (a tag moves to it); importing an image the store has already
	// only does that. It reads each layer once, in order, base first, and
	// fails when a layer's stream fails, its Close included (which is
	// where a layer that is not what its digest says is refused).
	ImportImage(ctx context.Context, img PulledImage) error
	// PulledImages lists the images ImportImage stored.
	PulledImages(ctx context.Context) ([]StoredImage, error)
	// RemovePulledImage removes a stored image, by digest, with what only
	// it used (layers no other stored image shares), and returns the bytes
	// that freed. It wraps ErrInvalidState when a container of any owner
	// was created from it, and ErrNotFound when there is no such image.
	RemovePulledImage(ctx context.Context, digest string) (freed int64, err error)
}

// PulledImage is an image downloaded from a registry, ready to be stored.
type PulledImage struct {
	// Ref is the reference it was pulled by; Digest the digest of its
	// manifest (the platform's, for a manifest list).
	Ref    imageref.Ref
	Digest string
	// Config is what the image's config says.
	Config ImageConfig
	// Layers are its layers, base first.
	Layers []PulledLayer
}

// ImageConfig is what an image's config says that a host needs.
type ImageConfig struct {
	// OS and Architecture, e.g. windows and amd64; OSVersion its
	// os.version, zero when it does not say.
	OS           string    `json:"os,omitempty"`
	Architecture string    `json:"architecture,omitempty"`
	OSVersion    OSVersion `json:"osVersion,omitzero"`
	Entrypoint   []string  `json:"entrypoint,omitempty"`
	Cmd          []string  `json:"cmd,omitempty"`
	// ArgsEscaped: the first element of the command is a command line as
	// it is (Windows images built by Docker from a shell-form CMD).
	ArgsEscaped bool     `json:"argsEscaped,omitempty"`
	WorkingDir  string   `json:"workingDir,omitempty"`
	Env         []string `json:"env,omitempty"`
	User        string   `json:"user,omitempty"`
	// Healthcheck is the config's HEALTHCHECK; nil when it has none.
	Healthcheck *ImageHealthcheck `json:"healthcheck,omitempty"`
}

// ImageHealthcheck is an image config's HEALTHCHECK, as Docker writes it
// (its config's Healthcheck). Zero durations and retries mean Docker's
// defaults.
type ImageHealthcheck struct {
	// Test is ["CMD", program, args...] (run as it is), ["CMD-SHELL",
	// line] (run by the shell: cmd /S /C on Windows) or ["NONE"] (no
	// check, not even a base image's); empty inherits, which for a
	// config read alone is none.
	Test        []string      `json:"test,omitempty"`
	Interval    time.Duration `json:"interval,omitempty"`
	Timeout     time.Duration `json:"timeout,omitempty"`
	StartPeriod time.Duration `json:"startPeriod,omitempty"`
	Retries     int           `json:"retries,omitempty"`
}

// Command is the image's default command: Entrypoint followed by Cmd.
func (c ImageConfig) Command() []string {
	cmd := append([]string(nil), c.Entrypoint...)
	return append(cmd, c.Cmd...)
}

// PulledLayer is one layer of a PulledImage.
type PulledLayer struct {
	// DiffID is the digest of the layer's uncompressed tar (sha256:...),
	// as the image config lists it; layers are stored by the chain of
	// them.
	DiffID string
	// Size is the size of the layer's tar, when known; zero otherwise.
	Size int64
	// Open returns the layer's uncompressed tar. Its Close reads what is
	// left and reports a stream whose digest is not DiffID.
	Open func() (io.ReadCloser, error)
}

// StoredImage is an image an ImageStore keeps.
type StoredImage struct {
	Digest string         `json:"digest"`
	Refs   []imageref.Ref `json:"refs,omitempty"`
	// Size is what the image's layers take, shared ones included.
	Size      int64     `json:"size"`
	OSVersion OSVersion `json:"osVersion,omitzero"`
	PulledAt  time.Time `json:"pulledAt"`
	// LastUsed is when a container was last created from it; zero when
	// none was.
	LastUsed time.Time `json:"lastUsed,omitzero"`
}
