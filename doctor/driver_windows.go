//go:build windows

package doctor

import (
	"os"

	"github.com/isoagent/isoagent/driver/hcs"
)

// openHCS makes the hcs driver the agent would run with, without its
// preflight: doctor reports what preflight would refuse.
func openHCS(o Options) (*hcs.Driver, error) {
	programData := os.Getenv("ProgramData")
	if programData == "" {
		programData = `C:\ProgramData`
	}
	store := hcs.DockerStoreFor(programData)
	if o.DockerRoot != "" {
		store.Root = o.DockerRoot
	}
	return hcs.New(hcs.Options{StateDir: o.HCSStateDir, Images: store, CredentialSpecDir: o.CredentialSpecDir}), nil
}
