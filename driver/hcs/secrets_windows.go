//go:build windows

package hcs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"github.com/Microsoft/hcsshim"
	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/internal/atomicfile"
)

// How the driver hands a container its secrets (driver.Config.SecretEnv,
// SecretMounts), as Docker Swarm does on Windows: the values of a secret
// mount are written, as one file per key, into a folder of the driver's
// own (<state>\secrets\<id>\<n>, for SYSTEM and Administrators only) that
// is mapped into the container read-only; the values of envFrom go into
// the init process's environment at each start and nowhere else. Neither
// is ever in the container's record: a start after an exit reads the
// secrets again, and refuses, with driver.ErrSecretChanged, a secret that
// is gone or is not what was admitted. Remove deletes the folder.

// protectedFolder is the access list of the secrets folders: SYSTEM and
// Administrators only, inherited by everything in them.
const protectedFolder = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

func (d *Driver) secretsDir(id string) string { return filepath.Join(d.stateDir, "secrets", id) }

// secretValues reads secret name for container id and checks its digest.
func (d *Driver) secretValues(id, name, digest string) (map[string][]byte, error) {
	if d.secrets == nil {
		return nil, fmt.Errorf("container %s names secret %s, but the driver has no secrets folder: %w", id, name, driver.ErrSecretChanged)
	}
	values, got, err := d.secrets.Secret(name)
	if err != nil {
		return nil, fmt.Errorf("container %s: secret %s: %v: %w", id, name, err, driver.ErrSecretChanged)
	}
	if got != digest {
		return nil, fmt.Errorf("container %s: secret %s is not what was admitted (digest %s, now %s): %w", id, name, digest, got, driver.ErrSecretChanged)
	}
	return values, nil
}

// secretEnv adds the keys of the config's envFrom secrets to env, the
// init process's environment merged from the image's and the config's:
// a secret's key wins over the image's variable and loses to one the
// config sets, names compared as Windows compares them.
func (d *Driver) secretEnv(rec *record, env map[string]string) (map[string]string, error) {
	if len(rec.Config.SecretEnv) == 0 {
		return env, nil
	}
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	for _, r := range rec.Config.SecretEnv {
		values, err := d.secretValues(rec.Config.ID, r.Name, r.Digest)
		if err != nil {
			return nil, err
		}
		for k, v := range values {
			if !hasFold(rec.Config.Env, k) {
				setFold(out, k, string(v))
			}
		}
	}
	return out, nil
}

func hasFold(env map[string]string, k string) bool {
	for name := range env {
		if strings.EqualFold(name, k) {
			return true
		}
	}
	return false
}

// materialiseSecrets writes the keys of each secret mount of rec into its
// folder, afresh, and returns the read-only mapped directories for them.
func (d *Driver) materialiseSecrets(rec *record) ([]hcsshim.MappedDir, error) {
	if len(rec.Config.SecretMounts) == 0 {
		return nil, nil
	}
	id := rec.Config.ID
	root := d.secretsDir(id)
	if err := os.RemoveAll(root); err != nil {
		return nil, fmt.Errorf("container %s: clear its secrets folder: %w", id, err)
	}
	if err := mkdirProtected(filepath.Dir(root)); err != nil {
		return nil, err
	}
	if err := mkdirProtected(root); err != nil {
		return nil, err
	}
	var dirs []hcsshim.MappedDir
	for i, m := range rec.Config.SecretMounts {
		values, err := d.secretValues(id, m.Name, m.Digest)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(root, strconv.Itoa(i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, fmt.Errorf("container %s: secret %s: %w", id, m.Name, err)
		}
		for k, v := range values {
			if err := atomicfile.WriteFile(filepath.Join(dir, k), v, 0o400); err != nil {
				return nil, fmt.Errorf("container %s: secret %s, key %s: %w", id, m.Name, k, err)
			}
		}
		dirs = append(dirs, hcsshim.MappedDir{HostPath: dir, ContainerPath: m.ContainerPath.String(), ReadOnly: true})
	}
	return dirs, nil
}

// removeSecrets deletes the secrets folder of container id.
func (d *Driver) removeSecrets(id string) error {
	if err := os.RemoveAll(d.secretsDir(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the secrets folder of %s: %w", id, err)
	}
	return nil
}

// mkdirProtected makes folder dir, when it does not exist, with an access
// list for SYSTEM and Administrators only.
func mkdirProtected(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	sd, err := windows.SecurityDescriptorFromString(protectedFolder)
	if err != nil {
		return fmt.Errorf("secrets folder access list: %w", err)
	}
	sa := windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return err
	}
	if err := windows.CreateDirectory(p, &sa); err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return fmt.Errorf("create the secrets folder %s: %w", dir, err)
	}
	return nil
}
