package driver

import (
	"errors"
	"fmt"
)

// A HintError is a driver error with what an operator can do about it,
// worded once here for every driver, so that the simulated host and HCS
// say the same of the same fault. It unwraps to the error, whose class
// (ErrHostPathNotFound, ...) stays what errors.Is tells.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() + "; " + e.Hint }

func (e *HintError) Unwrap() error { return e.Err }

// withHint wraps err with hint, unless err is nil or has a hint already.
func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	if he := (*HintError)(nil); errors.As(err, &he) {
		return err
	}
	return &HintError{Err: err, Hint: hint}
}

// MissingFolder wraps err, an ErrHostPathNotFound of a create, with
// the mapped host folder that is missing and what to do about it.
func MissingFolder(err error, path string) error { return withHint(err, MissingFolderHint(path)) }

// MissingFolderHint is what MissingFolder adds for path.
func MissingFolderHint(path string) string {
	return fmt.Sprintf("the host has no folder %s: create it, or fix the spec's mounts", path)
}

// MissingPipe wraps err, an ErrHostPathNotFound of a create, with the
// mapped host pipe that no program serves and what to do about it.
func MissingPipe(err error, pipe string) error { return withHint(err, MissingPipeHint(pipe)) }

// MissingPipeHint is what MissingPipe adds for pipe.
func MissingPipeHint(pipe string) string {
	return fmt.Sprintf("the host has no pipe %s: start the program that serves it, or fix the spec's pipes", pipe)
}

// MissingImage wraps err, an ErrNotFound of an image, with how the host
// gets image ref.
func MissingImage(err error, ref string) error {
	return withHint(err, MissingImageHint(ref))
}

// MissingImageHint is what MissingImage adds for ref.
func MissingImageHint(ref string) string {
	return fmt.Sprintf("the host does not have image %s: pull it with `isoagent pull %s`, or let the agent pull it (--pull, the default, with imagePullPolicy IfNotPresent or Always)", ref, ref)
}
