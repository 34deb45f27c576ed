//go:build windows

package hcs

import (
	"context"
	"fmt"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.ConfigReader = (*Driver)(nil)

// ContainerConfig implements driver.ConfigReader from the container's
// record.
func (d *Driver) ContainerConfig(_ context.Context, id string) (driver.Config, error) {
	rec, err := d.getRecord(id)
	if err != nil {
		return driver.Config{}, fmt.Errorf("container %s: %w", id, err)
	}
	if rec == nil {
		return driver.Config{}, fmt.Errorf("container %s: %w", id, driver.ErrNotFound)
	}
	return rec.Config, nil
}
