//go:build windows

package hcs

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/winpath"
)

// secretSource is a driver.SecretSource of fixed content, one key per
// secret.
type secretSource map[string]map[string]string

func (s secretSource) Secret(name string) (map[string][]byte, string, error) {
	keys, ok := s[name]
	if !ok {
		return nil, "", fmt.Errorf("secret %s: %w", name, fs.ErrNotExist)
	}
	out := map[string][]byte{}
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		out[k] = []byte(keys[k])
		fmt.Fprintf(h, "%s=%s;", k, keys[k])
	}
	return out, fmt.Sprintf("sha256:%x", h.Sum(nil)), nil
}

func (s secretSource) digest(t *testing.T, name string) string {
	t.Helper()
	_, d, err := s.Secret(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSecrets(t *testing.T) {
	h := newFakeHost(t)
	src := secretSource{"db": {"DB_PASSWORD": "hunter2", "PATH_SUFFIX": "x"}, "tls": {"cert.pem": "CERT-BODY"}}
	d := h.clientWith(t, Options{Owner: testOwner, Secrets: src})
	cfg := config("web", driver.Process)
	cfg.Env = map[string]string{"path_suffix": "from the spec"}
	cfg.SecretEnv = []driver.SecretRef{{Name: "db", Digest: src.digest(t, "db")}}
	cfg.SecretMounts = []driver.SecretMount{{Name: "tls", Digest: src.digest(t, "tls"), ContainerPath: winpath.MustParse(`C:\secrets\tls`)}}
	if err := d.Create(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context(), "web"); err != nil {
		t.Fatal(err)
	}

	// The mount is a folder of the driver's, mapped read-only, holding
	// one file per key.
	var mapped map[string]any
	var env map[string]string
	for _, raw := range requests(t, h, "HcsCreateComputeSystem") {
		var doc struct{ MappedDirectories []map[string]any }
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		for _, md := range doc.MappedDirectories {
			if md["ContainerPath"] == `C:\secrets\tls` {
				mapped = md
			}
		}
	}
	for _, raw := range requests(t, h, "HcsCreateProcess") {
		var doc struct{ Environment map[string]string }
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		env = doc.Environment
	}
	folder := filepath.Join(h.agent, "secrets", "web", "0")
	if mapped == nil || mapped["ReadOnly"] != true || !strings.EqualFold(mapped["HostPath"].(string), folder) {
		t.Fatalf("mapped secret folder = %v, want %s read-only", mapped, folder)
	}
	if b, err := os.ReadFile(filepath.Join(folder, "cert.pem")); err != nil || string(b) != "CERT-BODY" {
		t.Fatalf("cert.pem = %q, %v", b, err)
	}
	// envFrom's keys are in the init process's environment; the spec's
	// own env wins over a key of the same name (case ignored).
	if env["DB_PASSWORD"] != "hunter2" || env["path_suffix"] != "from the spec" || env["PATH_SUFFIX"] != "" {
		t.Fatalf("environment = %v", env)
	}
	// The record never holds a value.
	rec, err := os.ReadFile(filepath.Join(h.agent, "containers", "web.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rec), "hunter2") || strings.Contains(string(rec), "CERT-BODY") {
		t.Fatalf("the container record holds a secret value:\n%s", rec)
	}

	// Rotated behind the admission's back: a restart refuses it.
	if err := d.Stop(t.Context(), "web", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	src["db"]["DB_PASSWORD"] = "correct horse"
	if err := d.Start(t.Context(), "web"); !errors.Is(err, driver.ErrSecretChanged) {
		t.Fatalf("Start with a rotated secret = %v, want ErrSecretChanged", err)
	}
	if err := d.Remove(t.Context(), "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(h.agent, "secrets", "web")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the secrets folder outlived the container: %v", err)
	}

	// A driver without a secret source refuses configs that name one.
	bare := h.client(t, testOwner)
	other := config("api", driver.Process)
	other.SecretEnv = cfg.SecretEnv
	if err := bare.Create(t.Context(), other); err != nil {
		t.Fatal(err) // create maps no env; the start needs it
	}
	if err := bare.Start(t.Context(), "api"); !errors.Is(err, driver.ErrSecretChanged) {
		t.Fatalf("Start without a secret source = %v, want ErrSecretChanged", err)
	}
}
