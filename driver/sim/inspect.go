package sim

import (
	"context"
	"fmt"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/internal/hresult"
)

var _ driver.Inspector = (*Driver)(nil)

// Inspect implements driver.Inspector: container id of the driver's owner
// as List shows it, read alone. A container of another owner, or one
// removed, wraps driver.ErrNotFound, as HCS answers for an identifier it
// does not know.
func (d *Driver) Inspect(ctx context.Context, id string) (driver.Container, error) {
	if err := ctx.Err(); err != nil {
		return driver.Container{}, fmt.Errorf("inspect %s: %w", id, err)
	}
	return d.model.Container(d.owner, id)
}

// Container returns container id of owner ("" for any owner). It wraps
// driver.ErrNotFound when there is none; the error is an *HCSError.
func (m *Model) Container(owner, id string) (driver.Container, error) {
	var c driver.Container
	err := m.view(func(s *state) error {
		// Not lookup: a look changes nothing for the store to save.
		r, ok := s.Containers[id]
		if !ok || (owner != "" && r.Config.Owner != owner) {
			return hcsError("GetProperties", id, hresult.SystemNotFound, driver.ErrNotFound,
				"A virtual machine or container with the specified identifier does not exist.")
		}
		c = r.container()
		return nil
	})
	return c, err
}
