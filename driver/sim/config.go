package sim

import (
	"context"
	"fmt"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.ConfigReader = (*Driver)(nil)

// Config implements driver.ConfigReader: the config the container was
// created with, as its record keeps it.
func (d *Driver) Config(ctx context.Context, id string) (driver.Config, error) {
	if err := ctx.Err(); err != nil {
		return driver.Config{}, fmt.Errorf("config of %s: %w", id, err)
	}
	cfg, ok := d.model.config(d.owner, id)
	if !ok {
		return driver.Config{}, fmt.Errorf("config of %s: %w", id, driver.ErrNotFound)
	}
	return cfg, nil
}
