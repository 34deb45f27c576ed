package drivertest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/isoagent/isoagent/driver"
)

// testConfigKept: a driver.ConfigReader gives back the config a container
// was created with, to another client too (the next agent), and not once
// the container is removed.
func testConfigKept(t *testing.T, e *env) {
	r, ok := e.d.(driver.ConfigReader)
	if !ok {
		t.Skip("the driver gives back no configs (no driver.ConfigReader)")
	}
	cfg := e.config("kept", driver.Process, "cmd", "/c", "ping", "-t", "localhost")
	cfg.Env = map[string]string{"V": "1"}
	cfg.Ports = []driver.Port{{HostPort: 8081, ContainerPort: 80, Protocol: "tcp"}}
	e.create(t, cfg)
	second, ok := e.host.Client(t, Owner).(driver.ConfigReader)
	if !ok {
		t.Fatal("a second client of the driver is no driver.ConfigReader")
	}
	for _, c := range []driver.ConfigReader{r, second} {
		got, err := c.Config(e.ctx, cfg.ID)
		if err != nil {
			t.Fatalf("Config(%s): %v", cfg.ID, err)
		}
		if got.ID != cfg.ID || got.Name != cfg.Name || got.Hash != cfg.Hash || got.Image != cfg.Image ||
			!reflect.DeepEqual(got.Command, cfg.Command) || !reflect.DeepEqual(got.Env, cfg.Env) || !reflect.DeepEqual(got.Ports, cfg.Ports) {
			t.Errorf("Config(%s) = %+v, want %+v", cfg.ID, got, cfg)
		}
	}
	if _, err := r.Config(e.ctx, "no-such-container"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Config of no container: %v, want ErrNotFound", err)
	}
	if err := e.d.Remove(e.ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Config(e.ctx, cfg.ID); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Config after Remove: %v, want ErrNotFound", err)
	}
}
