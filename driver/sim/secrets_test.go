package sim_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/winpath"
)

// secretSource is a driver.SecretSource of fixed content.
type secretSource map[string]string

func (s secretSource) Secret(name string) (map[string][]byte, string, error) {
	v, ok := s[name]
	if !ok {
		return nil, "", fmt.Errorf("secret %s: %w", name, fs.ErrNotExist)
	}
	return map[string][]byte{"VALUE": []byte(v)}, digestOf(v), nil
}

func digestOf(v string) string { return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(v))) }

func TestSecretsAtCreateAndStart(t *testing.T) {
	dir := t.TempDir()
	src := secretSource{"db": "hunter2"}
	d, err := sim.Open(dir, sim.Options{Secrets: src})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := func(id, digest string) driver.Config {
		return driver.Config{
			ID: id, Name: id, Isolation: driver.Process,
			Image:        imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022"),
			SecretEnv:    []driver.SecretRef{{Name: "db", Digest: digest}},
			SecretMounts: []driver.SecretMount{{Name: "db", Digest: digest, ContainerPath: winpath.MustParse(`C:\secrets\db`)}},
		}
	}
	if err := d.Create(ctx, cfg("web", digestOf("hunter2"))); err != nil {
		t.Fatal(err)
	}
	if err := d.Create(ctx, cfg("stale", digestOf("old"))); !errors.Is(err, driver.ErrSecretChanged) {
		t.Fatalf("Create with a stale digest = %v, want ErrSecretChanged", err)
	}
	// Rotated after create: the start refuses what was not admitted.
	src["db"] = "correct horse"
	if err := d.Start(ctx, "web"); !errors.Is(err, driver.ErrSecretChanged) {
		t.Fatalf("Start after rotation = %v, want ErrSecretChanged", err)
	}
	delete(src, "db")
	if err := d.Start(ctx, "web"); !errors.Is(err, driver.ErrSecretChanged) {
		t.Fatalf("Start of a removed secret = %v, want ErrSecretChanged", err)
	}
	src["db"] = "hunter2"
	if err := d.Start(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	without, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := without.Create(ctx, cfg("other", digestOf("hunter2"))); !errors.Is(err, driver.ErrSecretChanged) {
		t.Fatalf("Create without a secret source = %v, want ErrSecretChanged", err)
	}
	// The host's state names the secret, never its value.
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "hunter2") {
			t.Errorf("%s holds the secret's value", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
