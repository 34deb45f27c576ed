// Package secrets reads the agent's secrets: values containers get as
// environment variables (a spec's envFrom) or as read-only files
// (secretMounts), kept in an administrators' folder on the host, never in
// the spec folder.
//
// A secret is a folder in the secrets folder: its name is the folder's
// name, and each regular file in it is one key, named by the file, whose
// value is the file's content (Kubernetes' layout for a secret volume).
// On Windows a value may be protected with DPAPI for the account the
// agent runs as (LocalSystem) or for the machine: a file that starts with
// a DPAPI blob header is unprotected with CryptUnprotectData.
//
// Values are read when a driver needs them and go nowhere else: a Store
// hands out a digest of each secret's content for config hashes and
// status, and Value is the only way to a value.
package secrets

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/isoagent/isoagent/internal/adminonly"
)

// MaxValueSize is the largest value a key may hold.
const MaxValueSize = 1 << 20

// maxKeys bounds the keys of one secret.
const maxKeys = 256

var nameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$`)

// CheckName returns an error unless name can name a secret or a key: at
// most 253 letters, digits, '.', '_' and '-', starting and ending with a
// letter or digit.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%q is not a secret name: use at most 253 letters, digits, '.', '_' and '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// ErrInsideSpecFolder is returned by Open for a secrets folder that
// whoever writes the spec folder could read or change.
var ErrInsideSpecFolder = errors.New("overlaps the spec folder or its checkout")

// Store reads secrets from a folder. It reads the folder at every call, so
// a rotated secret is seen at the next admission. It is safe for
// concurrent use.
type Store struct {
	dir string
}

// Open returns the Store of the secrets folder dir. It refuses a folder
// that lies in, or holds, one of the folders in notInside (the spec
// folder and the top of its checkout), and one that others than
// administrators may read or change (see package adminonly).
func Open(dir string, notInside ...string) (*Store, error) {
	for _, d := range notInside {
		if d != "" && (adminonly.Inside(dir, d) || adminonly.Inside(d, dir)) {
			return nil, fmt.Errorf("secrets folder %s %w %s: whoever may change the specs could read the secrets; keep it in an administrators' folder such as C:\\ProgramData\\isoagent\\secrets", dir, ErrInsideSpecFolder, d)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("secrets folder: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("secrets folder %s is not a folder", dir)
	}
	if err := adminonly.Check(dir, true); err != nil {
		return nil, fmt.Errorf("secrets folder: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the secrets folder.
func (s *Store) Dir() string { return s.dir }

// Secret is the content of one secret: its keys and their values.
type Secret struct {
	name   string
	keys   []string
	values map[string][]byte
	digest string
}

// Name returns the secret's name.
func (s *Secret) Name() string { return s.name }

// Keys returns the secret's keys, sorted.
func (s *Secret) Keys() []string { return slices.Clone(s.keys) }

// Value returns the value of key, nil when there is no such key.
func (s *Secret) Value(key string) []byte { return s.values[key] }

// Digest returns "sha256:<hex>" over the secret's keys and values: it
// changes whenever a value does, and tells nothing of them.
func (s *Secret) Digest() string { return s.digest }

// String names the secret without a word of its values, so that a Secret
// in a log line or an error leaks nothing.
func (s *Secret) String() string {
	return fmt.Sprintf("secret %s (%d keys, %s)", s.name, len(s.keys), s.digest)
}

// GoString is String, for %#v.
func (s *Secret) GoString() string { return s.String() }

// Get reads the secret name. It wraps fs.ErrNotExist when there is none.
func (s *Store) Get(name string) (*Secret, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.dir, name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("secret %s: no folder %s in the secrets folder: %w", name, name, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	sec := &Secret{name: name, values: map[string][]byte{}}
	for _, e := range entries {
		key := e.Name()
		if CheckName(key) != nil {
			continue // dot files, editor leftovers: not keys
		}
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("secret %s: key %s is not a regular file", name, key)
		}
		if len(sec.keys) == maxKeys {
			return nil, fmt.Errorf("secret %s has more than %d keys", name, maxKeys)
		}
		v, err := readValue(filepath.Join(dir, key))
		if err != nil {
			return nil, fmt.Errorf("secret %s, key %s: %w", name, key, err)
		}
		sec.keys = append(sec.keys, key)
		sec.values[key] = v
	}
	if len(sec.keys) == 0 {
		return nil, fmt.Errorf("secret %s: its folder holds no key (one file per key): %w", name, fs.ErrNotExist)
	}
	slices.Sort(sec.keys)
	sec.digest = digest(sec.keys, sec.values)
	return sec, nil
}

// Secret is Get in the shape of driver.SecretSource.
func (s *Store) Secret(name string) (map[string][]byte, string, error) {
	sec, err := s.Get(name)
	if err != nil {
		return nil, "", err
	}
	return sec.values, sec.digest, nil
}

func readValue(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxValueSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxValueSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxValueSize)
	}
	if isProtected(b) {
		return unprotect(b)
	}
	return b, nil
}

// dpapiHeader starts every DPAPI blob: version 1 and the provider GUID
// df9d8cd0-1501-11d1-8c7a-00c04fc297eb.
var dpapiHeader = []byte{0x01, 0x00, 0x00, 0x00, 0xd0, 0x8c, 0x9d, 0xdf, 0x01, 0x15, 0xd1, 0x11, 0x8c, 0x7a, 0x00, 0xc0, 0x4f, 0xc2, 0x97, 0xeb}

func isProtected(b []byte) bool {
	return len(b) > len(dpapiHeader) && string(b[:len(dpapiHeader)]) == string(dpapiHeader)
}

// digest is sha256 over the keys and values, each length-prefixed, so no
// two contents share one.
func digest(keys []string, values map[string][]byte) string {
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(strconv.Itoa(len(k)) + ":" + k + strconv.Itoa(len(values[k])) + ":"))
		h.Write(values[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
