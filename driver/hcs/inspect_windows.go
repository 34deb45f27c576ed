//go:build windows

package hcs

import (
	"context"
	"fmt"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.Inspector = (*Driver)(nil)

// Inspect implements driver.Inspector: the container's record and what
// HCS says of its compute system alone (GetContainers with its ID), as
// List shows it. A container without a record of the driver's owner wraps
// driver.ErrNotFound; one whose compute system has gone while its record
// says it ran is exited, its code unknown, as List has it. Unlike List it
// adopts nothing and does not ask HNS about the container's endpoints: the
// engine inspects a container it has just started, and its relists do the
// rest.
func (d *Driver) Inspect(ctx context.Context, id string) (driver.Container, error) {
	if err := ctx.Err(); err != nil {
		return driver.Container{}, fmt.Errorf("inspect %s: %w", id, err)
	}
	rec, err := d.getRecord(id)
	if err != nil {
		return driver.Container{}, fmt.Errorf("inspect %s: %w", id, err)
	}
	if rec == nil {
		return driver.Container{}, fmt.Errorf("inspect %s: %w", id, driver.ErrNotFound)
	}
	sys, err := d.systems(id)
	if err != nil {
		return driver.Container{}, fmt.Errorf("inspect %s: %w", id, err)
	}
	p, ok := sys[id]
	return d.container(rec, p, ok), nil
}
