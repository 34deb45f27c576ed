package driver

import "errors"

// Classes of driver error. Drivers wrap them with context
// (fmt.Errorf("start %s: %w", id, driver.ErrNotFound)); callers test with
// errors.Is.
var (
	// ErrNotFound: no such container or image.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a container with that ID exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidState: the operation is not possible in the container's
	// current state (for example removing a running container).
	ErrInvalidState = errors.New("invalid state")
	// ErrVersionMismatch: the image's OS build cannot run on this host with
	// the requested isolation (HCS 0xc0370101).
	ErrVersionMismatch = errors.New("the container operating system does not match the host operating system")
	// ErrPortInUse: a mapped host port is already taken.
	ErrPortInUse = errors.New("host port already in use")
	// ErrHostPathNotFound: a mapped host folder or pipe does not exist.
	ErrHostPathNotFound = errors.New("mapped host path not found")
	// ErrHostPathChanged: a mapped host folder leads somewhere else than
	// when the config was admitted (a junction or symbolic link in it
	// changed); the config must be admitted again.
	ErrHostPathChanged = errors.New("mapped host path changed since it was admitted")
	// ErrNotSupported: the host cannot do what the config asks (devices or
	// network sharing with Hyper-V isolation, a feature the build lacks).
	ErrNotSupported = errors.New("not supported")
	// ErrUnavailable: the host service cannot be reached; retry later.
	ErrUnavailable = errors.New("host unavailable")
	// ErrInvalidConfig: the host refuses the config as it is (HCS finds
	// its document invalid, the command is not in the image, a mapped host
	// path is a file); the config must change.
	ErrInvalidConfig = errors.New("config refused by the host")
	// ErrSecretChanged: a secret the config names is gone, or its content
	// is no longer what admission saw (its digest differs); the config
	// must be admitted again, which the next resync does.
	ErrSecretChanged = errors.New("secret changed since it was admitted")
)

// IsPermanent reports whether err is a class of error that retrying the same
// operation with the same config cannot fix.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrVersionMismatch) || errors.Is(err, ErrNotSupported) || errors.Is(err, ErrInvalidConfig)
}
