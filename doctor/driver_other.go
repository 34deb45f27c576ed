//go:build !windows

package doctor

import (
	"context"
	"errors"

	"github.com/isoagent/isoagent/driver"
)

// hcsDriver is what doctor needs of the hcs driver, which exists only on
// Windows.
type hcsDriver interface {
	Diagnose(ctx context.Context) []driver.Check
	StateDir() string
	CredentialSpecDir() string
	Close() error
}

func openHCS(Options) (hcsDriver, error) {
	return nil, errors.New("--driver hcs is Windows-only: this system has no Host Compute Service; use --driver sim")
}
