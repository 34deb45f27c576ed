package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/isoagent/isoagent/winbuild"
)

// Classes of registry error; Resolve and Fetch wrap one of them.
var (
	// ErrNotFound: the registry has no such repository, tag or manifest.
	ErrNotFound = errors.New("not found in the registry")
	// ErrUnauthorized: the registry refused the credentials, or wants some.
	ErrUnauthorized = errors.New("the registry refused access")
	// ErrUnavailable: the registry cannot be reached or failed; trying
	// again later may work.
	ErrUnavailable = errors.New("the registry is unavailable")
	// ErrNoVariant: the image has no variant this host can run (see
	// NoVariantError).
	ErrNoVariant = errors.New("no variant for this host")
	// ErrDigestMismatch: what the registry sent is not what its digest
	// says.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrInvalid: the registry's answer cannot be used (a manifest of an
	// unsupported kind, a broken config).
	ErrInvalid = errors.New("invalid image")
	// ErrStalled: a download made no progress for too long.
	ErrStalled = errors.New("the download stalled")
	// ErrPlainHTTP: the registry would be reached over plain HTTP, which
	// only registries listed as insecure are.
	ErrPlainHTTP = errors.New("plain HTTP refused")
)

// Reason names an error's class for metrics: not-found, unauthorized,
// unavailable, no-variant, digest-mismatch, invalid, stalled, or other.
func Reason(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{ErrStalled, "stalled"}, {ErrPlainHTTP, "plain-http"}, {ErrDigestMismatch, "digest-mismatch"}, {ErrNoVariant, "no-variant"},
		{ErrUnauthorized, "unauthorized"}, {ErrNotFound, "not-found"}, {ErrUnavailable, "unavailable"}, {ErrInvalid, "invalid"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "other"
}

// Reasons returns every value Reason gives, for pre-initialising metrics.
func Reasons() []string {
	return []string{"not-found", "unauthorized", "unavailable", "no-variant", "digest-mismatch", "invalid", "stalled", "plain-http", "other"}
}

// NoVariantError says that an image comes in no variant a host can run:
// its windows/amd64 builds are all newer than the host's, or it has none.
type NoVariantError struct {
	Image  string
	Host   winbuild.Version
	Builds []winbuild.Version // the windows/amd64 builds it has
	Others []string           // the other platforms it has (linux/amd64, ...)
}

func (e *NoVariantError) Error() string {
	var has string
	switch {
	case len(e.Builds) > 0:
		bs := make([]string, len(e.Builds))
		for i, b := range e.Builds {
			bs[i] = buildName(b)
		}
		has = "it has Windows builds " + strings.Join(bs, ", ") + ", all newer than the host"
	case len(e.Others) > 0:
		has = "it is for " + strings.Join(e.Others, ", ") + " only"
	default:
		has = "it lists no platform"
	}
	return fmt.Sprintf("image %s has no variant for windows/amd64 host build %s: %s", e.Image, buildName(e.Host), has)
}

func (e *NoVariantError) Unwrap() error { return ErrNoVariant }

func buildName(v winbuild.Version) string {
	if !v.Known() {
		return "unknown"
	}
	if n := winbuild.ReleaseName(v.Build); n != "" {
		return fmt.Sprintf("%d (%s)", v.Build, n)
	}
	return fmt.Sprint(v.Build)
}

// classify wraps err, from go-containerregistry or the network, with its
// class. The message is the registry's; go-containerregistry's errors
// name requests by URL, which never carries credentials.
func classify(err error) error {
	if err == nil {
		return nil
	}
	for _, c := range []error{ErrNotFound, ErrUnauthorized, ErrUnavailable, ErrNoVariant, ErrDigestMismatch, ErrInvalid, ErrStalled} {
		if errors.Is(err, c) {
			return err
		}
	}
	// go-containerregistry asks a loopback or private registry over HTTPS
	// and plain HTTP at once, and reports both failures: what HTTPS got
	// tells the story unless the registry speaks plain HTTP only.
	var te *transport.Error
	var dial *net.OpError
	switch {
	case errors.As(err, &te):
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden || hasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
			return fmt.Errorf("%w: %w", ErrUnauthorized, err)
		case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode):
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests || te.StatusCode == http.StatusRequestTimeout:
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	case errors.As(err, &dial) && dial.Op == "dial":
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case errors.Is(err, ErrPlainHTTP):
		return err
	case errors.Is(err, context.Canceled):
		return err
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne), errors.As(err, &dial), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}
