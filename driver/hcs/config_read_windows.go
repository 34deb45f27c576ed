//go:build windows

package hcs

import (
	"context"
	"fmt"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.ConfigReader = (*Driver)(nil)

// Config implements driver.ConfigReader: the config the container was
// created with, from its record in the state folder.
func (d *Driver) Config(ctx context.Context, id string) (driver.Config, error) {
	if err := ctx.Err(); err != nil {
		return driver.Config{}, fmt.Errorf("config of %s: %w", id, err)
	}
	rec, err := d.getRecord(id)
	if err != nil {
		return driver.Config{}, fmt.Errorf("config of %s: %w", id, err)
	}
	if rec == nil {
		return driver.Config{}, fmt.Errorf("config of %s: %w", id, driver.ErrNotFound)
	}
	return rec.Config, nil
}
