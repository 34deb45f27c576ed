package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// keychain returns the credentials for a registry: the registries file's
// when it gives some for it, else those of Docker's config.json (its
// auths, or the credential helper it names for the registry), else none.
func keychain(cfg *Config) authn.Keychain {
	return authn.NewMultiKeychain(fileKeychain{cfg}, dockerKeychain{cfg.dockerConfig()})
}

// fileKeychain gives the registries file's credentials.
type fileKeychain struct{ cfg *Config }

func (k fileKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	r := k.cfg.registry(res.RegistryStr())
	if r.Username == "" {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{Username: r.Username, Password: r.Password}), nil
}

// dockerConfig is the config.json the registries file names, or "" for
// Docker's own.
func (c *Config) dockerConfig() string {
	if c == nil {
		return ""
	}
	return c.DockerConfig
}

// dockerKeychain reads Docker's config.json as the docker CLI does
// (package docker/cli/cli/config): its auths and its credential helpers,
// which it runs as the CLI runs them (docker-credential-<name> get). The
// file is read at every look-up, so a docker login or a new helper takes
// effect without a restart.
type dockerKeychain struct {
	// file is the config.json; "" is Docker's own, in DOCKER_CONFIG or the
	// user's .docker folder.
	file string
}

func (k dockerKeychain) load() (*configfile.ConfigFile, error) {
	file := k.file
	if file == "" {
		file = filepath.Join(config.Dir(), config.ConfigFileName)
	}
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no Docker config (yet): no credentials from it
	}
	if err != nil {
		return nil, fmt.Errorf("the Docker config %s: %w", file, err)
	}
	defer f.Close()
	cf, err := config.LoadFromReader(f)
	if err != nil {
		return nil, fmt.Errorf("the Docker config %s: %w", file, err)
	}
	cf.Filename = file
	return cf, nil
}

func (k dockerKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	cf, err := k.load()
	if err != nil || cf == nil {
		return authn.Anonymous, err
	}
	// The keys the docker CLI looks under: the repository, then the
	// registry, Docker Hub's under its historical URL.
	var empty types.AuthConfig
	for _, key := range []string{res.String(), res.RegistryStr()} {
		if key == name.DefaultRegistry {
			key = authn.DefaultAuthKey
		}
		ac, err := cf.GetAuthConfig(key)
		if err != nil {
			return nil, fmt.Errorf("credentials for %s from %s: %w", res.RegistryStr(), cf.Filename, err)
		}
		ac.ServerAddress = ""
		if ac == empty {
			continue
		}
		return authn.FromConfig(authn.AuthConfig{
			Username: ac.Username, Password: ac.Password, Auth: ac.Auth,
			IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken,
		}), nil
	}
	return authn.Anonymous, nil
}
