package hcs

import (
	"strings"

	"github.com/isoagent/isoagent/driver"
)

// processSpec is how a container's init process runs, besides its command
// line: the working folder, environment and user. Create fixes it, so a
// start after an exit runs what the first one ran even if the image is
// pulled again.
type processSpec struct {
	WorkingDir string            `json:"workingDir"`
	Env        map[string]string `json:"env,omitempty"`
	User       string            `json:"user,omitempty"`
}

// defaultWorkingDir is where a process starts when neither the config nor
// the image names a folder; moby chose C:\ over cmd's default, system32.
const defaultWorkingDir = `C:\`

// mergeProcess merges the config's process settings with the image's as
// moby merges a container's config with its image's (daemon/commit.go,
// merge): what the config sets wins, the image fills in the rest, and
// environment names compare case-insensitively, as Windows compares them.
func mergeProcess(cfg driver.Config, im ResolvedImage) processSpec {
	p := processSpec{WorkingDir: cfg.WorkingDir, User: cfg.User}
	if p.WorkingDir == "" {
		p.WorkingDir = im.WorkingDir
	}
	if p.WorkingDir == "" {
		p.WorkingDir = defaultWorkingDir
	}
	if p.User == "" {
		p.User = im.User
	}
	env := map[string]string{}
	for _, kv := range im.Env {
		k, v, _ := strings.Cut(kv, "=")
		if k != "" {
			setFold(env, k, v)
		}
	}
	for k, v := range cfg.Env {
		setFold(env, k, v)
	}
	if len(env) > 0 {
		p.Env = env
	}
	return p
}

// setFold sets k to v in env, replacing a name that differs from k only
// in case.
func setFold(env map[string]string, k, v string) {
	for old := range env {
		if strings.EqualFold(old, k) {
			delete(env, old)
		}
	}
	env[k] = v
}
