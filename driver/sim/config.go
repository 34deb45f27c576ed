package sim

import (
	"context"
	"fmt"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.ConfigReader = (*Driver)(nil)

// ContainerConfig implements driver.ConfigReader.
func (d *Driver) ContainerConfig(_ context.Context, id string) (driver.Config, error) {
	cfg, ok := d.model.config(d.owner, id)
	if !ok {
		return driver.Config{}, fmt.Errorf("container %s: %w", id, driver.ErrNotFound)
	}
	return cfg, nil
}
