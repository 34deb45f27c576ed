package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/gitverify"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/secrets"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/validate"
)

// gitopsFlags are the guard rails of a spec folder many people push to:
// signed revisions, secrets kept out of the folder, a prune budget.
type gitopsFlags struct {
	verifyKeys string
	secretsDir string
	maxPrune   string
	stateDir   string
}

func (g *gitopsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.verifyKeys, "verify-signatures", "", "apply only git revisions signed by a key in this `file` of OpenPGP and SSH public keys (administrators only, outside the spec folder)")
	fs.StringVar(&g.secretsDir, "secrets", "", "`folder` of the secrets specs name in envFrom and secretMounts (administrators only, outside the spec folder)")
	fs.StringVar(&g.maxPrune, "max-prune", reconcile.PruneBudget{}.String(), "most containers one change may prune: a `number`, or a percentage of the containers this agent owns")
	fs.StringVar(&g.stateDir, "state-dir", "", "`folder` where the agent remembers the spec folder it last ran on (default: the host's: the sim's --sim-dir, or the hcs driver's state folder)")
}

// stateDir is where the agent's memory of the host lives: with the host's
// own state unless --state-dir says otherwise.
func (g gitopsFlags) stateDirFor(o driverOptions) string {
	switch {
	case g.stateDir != "":
		return g.stateDir
	case o.name == driver.NameSim || o.name == "auto" && autoDriver == driver.NameSim:
		return o.simDir
	case o.hcsStateDir != "":
		return o.hcsStateDir
	}
	if pd := os.Getenv("ProgramData"); pd != "" {
		return filepath.Join(pd, "isoagent")
	}
	return `C:\ProgramData\isoagent`
}

// guards are what the gitops flags open: nil fields are guards not asked
// for.
type guards struct {
	keys    *gitverify.Keyring
	secrets *secrets.Store
	budget  reconcile.PruneBudget
}

// open checks and opens what the flags name, for the spec folder dir.
func (g gitopsFlags) open(dir string) (guards, error) {
	var out guards
	var err error
	if out.budget, err = reconcile.ParsePruneBudget(g.maxPrune); err != nil {
		return out, fmt.Errorf("--max-prune %w", err)
	}
	// Whoever may push may change the whole checkout, not only the spec
	// folder: keys and secrets stay out of both.
	notInside := []string{dir}
	if rev, err := gitverify.Head(dir); err == nil {
		notInside = append(notInside, rev.Top)
	}
	if g.verifyKeys != "" {
		if out.keys, err = gitverify.LoadKeyring(g.verifyKeys, notInside...); err != nil {
			return out, fmt.Errorf("--verify-signatures: %w", err)
		}
	}
	if g.secretsDir != "" {
		if out.secrets, err = secrets.Open(g.secretsDir, notInside...); err != nil {
			return out, fmt.Errorf("--secrets: %w", err)
		}
	}
	return out, nil
}

// secretSource is the driver's view of the secrets folder, nil without one.
func (gd guards) secretSource() driver.SecretSource {
	if gd.secrets == nil {
		return nil
	}
	return gd.secrets
}

// loader returns how plan reads the spec folder: from its verified commit
// with --verify-signatures, else as a plain folder.
func (gd guards) loader(dir string, opts spec.LoaderOptions) spec.SnapshotLoader {
	if gd.keys == nil {
		return spec.NewLoader(dir, opts)
	}
	return gitverify.NewLoader(dir, gitverify.LoaderOptions{Keys: gd.keys, Spec: opts})
}

// folderLoader returns how validate reads folders: from their verified
// commit with --verify-signatures (nil: as plain folders). The keys file
// must lie outside every folder named.
func (c *validateConfig) folderLoader(paths []string) (validate.FolderLoader, error) {
	if c.verifyKeys == "" {
		return nil, nil
	}
	var notInside []string
	for _, p := range paths {
		notInside = append(notInside, p)
		if rev, err := gitverify.Head(p); err == nil {
			notInside = append(notInside, rev.Top)
		}
	}
	keys, err := gitverify.LoadKeyring(c.verifyKeys, notInside...)
	if err != nil {
		return nil, fmt.Errorf("--verify-signatures: %w", err)
	}
	return func(dir string, opts spec.LoaderOptions) (*spec.Snapshot, error) {
		return gitverify.NewLoader(dir, gitverify.LoaderOptions{Keys: keys, Spec: opts}).Load()
	}, nil
}
