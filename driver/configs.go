package driver

import "context"

// ConfigReader is a driver that keeps the config each container was
// created with, as both drivers keep it in their records: `isoagent plan`
// reads it to say what a recreate changes, field by field.
type ConfigReader interface {
	// ContainerConfig returns the config container id of the driver's
	// owner was created with; ErrNotFound when there is no such
	// container.
	ContainerConfig(ctx context.Context, id string) (Config, error)
}
