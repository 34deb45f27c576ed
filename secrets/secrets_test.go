package secrets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secretsDir makes a secrets folder for administrators only.
func secretsDir(t *testing.T, secrets map[string]map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "secrets")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	protectDir(t, dir)
	for name, keys := range secrets {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		for k, v := range keys {
			if err := os.WriteFile(filepath.Join(dir, name, k), []byte(v), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestStore(t *testing.T) {
	dir := secretsDir(t, map[string]map[string]string{
		"db":    {"DB_USER": "app", "DB_PASSWORD": "hunter2", ".hidden": "no", "notes~": "no"},
		"empty": {},
	})
	st := openStore(t, dir)
	sec, err := st.Get("db")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sec.Keys(), ","); got != "DB_PASSWORD,DB_USER" {
		t.Errorf("keys = %s", got)
	}
	if string(sec.Value("DB_PASSWORD")) != "hunter2" {
		t.Errorf("value = %q", sec.Value("DB_PASSWORD"))
	}
	for _, s := range []string{sec.String(), fmt.Sprintf("%v %+v %#v", sec, sec, sec)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("formatting a secret shows its value: %s", s)
		}
	}
	d1 := sec.Digest()
	if !strings.HasPrefix(d1, "sha256:") || strings.Contains(d1, "hunter2") {
		t.Errorf("digest = %s", d1)
	}
	// Rotating a value changes the digest; reading again without a
	// change does not.
	if again, _ := st.Get("db"); again.Digest() != d1 {
		t.Error("digest changed without a change")
	}
	if err := os.WriteFile(filepath.Join(dir, "db", "DB_PASSWORD"), []byte("correct horse"), 0o600); err != nil {
		t.Fatal(err)
	}
	rotated, err := st.Get("db")
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Digest() == d1 {
		t.Error("a rotated value kept the digest")
	}
	for _, name := range []string{"missing", "empty"} {
		if _, err := st.Get(name); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), name) {
			t.Errorf("Get(%s) = %v, want fs.ErrNotExist naming it", name, err)
		}
	}
	if _, err := st.Get("../db"); err == nil {
		t.Error("a name with a path was read")
	}
}

func TestIsProtected(t *testing.T) {
	// The start of a blob Windows' CryptProtectData made.
	blob := append(append([]byte{}, dpapiHeader...), 0x01, 0x00, 0x00, 0x00, 0xd0, 0x8c)
	if !isProtected(blob) || isProtected([]byte("hunter2")) || isProtected(dpapiHeader) {
		t.Fatal("isProtected does not tell DPAPI blobs from plain values")
	}
}

func TestOpenRefuses(t *testing.T) {
	specs := t.TempDir()
	inside := filepath.Join(specs, "secrets")
	if err := os.Mkdir(inside, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(inside, specs); !errors.Is(err, ErrInsideSpecFolder) {
		t.Errorf("Open inside the spec folder = %v", err)
	}
	dir := secretsDir(t, nil)
	if _, err := Open(filepath.Dir(dir), filepath.Join(filepath.Dir(dir), "secrets", "x")); !errors.Is(err, ErrInsideSpecFolder) {
		t.Errorf("Open of a folder holding the spec folder = %v", err)
	}
}
