package sim

import (
	"fmt"

	"github.com/isoagent/isoagent/driver"
)

// checkSecrets acts out what the hcs driver does with a config's secrets
// when it creates the container and whenever it starts its init process:
// it reads every secret the config names from the driver's secret source
// and refuses, with driver.ErrSecretChanged, one that is gone or whose
// content is not what admission saw. Like the hcs driver it puts no value
// anywhere the host keeps: the state file holds the config, which names
// secrets and their digests only.
func (d *Driver) checkSecrets(op string, cfg driver.Config) error {
	if len(cfg.SecretEnv) == 0 && len(cfg.SecretMounts) == 0 {
		return nil
	}
	if d.secrets == nil {
		return fmt.Errorf("%s %s: the config names secrets, but the driver has no secrets folder: %w", op, cfg.ID, driver.ErrSecretChanged)
	}
	check := func(name, digest string) error {
		_, got, err := d.secrets.Secret(name)
		if err != nil {
			return fmt.Errorf("%s %s: secret %s: %v: %w", op, cfg.ID, name, err, driver.ErrSecretChanged)
		}
		if got != digest {
			return fmt.Errorf("%s %s: secret %s is not what was admitted (digest %s, now %s): %w", op, cfg.ID, name, digest, got, driver.ErrSecretChanged)
		}
		return nil
	}
	for _, r := range cfg.SecretEnv {
		if err := check(r.Name, r.Digest); err != nil {
			return err
		}
	}
	for _, m := range cfg.SecretMounts {
		if err := check(m.Name, m.Digest); err != nil {
			return err
		}
	}
	return nil
}
