package metrics

import (
	"context"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// InstrumentDriver returns a driver.Driver that forwards every call to d
// and records how long it took, failed calls included, in
// isoagent_driver_operation_duration_seconds. Give the result to the
// engine in place of d.
func (m *Metrics) InstrumentDriver(d driver.Driver) driver.Driver {
	return &instrumentedDriver{d: d, m: m, now: time.Now}
}

type instrumentedDriver struct {
	d   driver.Driver
	m   *Metrics
	now func() time.Time
}

var _ driver.Driver = (*instrumentedDriver)(nil)

// observe is deferred with the start time evaluated at the call.
func (i *instrumentedDriver) observe(op string, start time.Time) {
	i.m.ObserveDriverOp(op, i.now().Sub(start))
}

func (i *instrumentedDriver) Host(ctx context.Context) (driver.Host, error) {
	defer i.observe(OpHost, i.now())
	return i.d.Host(ctx)
}

func (i *instrumentedDriver) Image(ctx context.Context, ref string) (driver.Image, error) {
	defer i.observe(OpImage, i.now())
	return i.d.Image(ctx, ref)
}

func (i *instrumentedDriver) List(ctx context.Context) ([]driver.Container, error) {
	defer i.observe(OpList, i.now())
	return i.d.List(ctx)
}

func (i *instrumentedDriver) Create(ctx context.Context, cfg driver.Config) error {
	defer i.observe(OpCreate, i.now())
	return i.d.Create(ctx, cfg)
}

func (i *instrumentedDriver) Start(ctx context.Context, id string) error {
	defer i.observe(OpStart, i.now())
	return i.d.Start(ctx, id)
}

func (i *instrumentedDriver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	defer i.observe(OpStop, i.now())
	return i.d.Stop(ctx, id, timeout)
}

func (i *instrumentedDriver) Remove(ctx context.Context, id string) error {
	defer i.observe(OpRemove, i.now())
	return i.d.Remove(ctx, id)
}
