// Package credspec reads the credential specs that let Windows containers
// act as a group Managed Service Account (gMSA) on the network, as Docker
// reads them for --security-opt credentialspec=file://NAME: a spec names a
// file in the agent's credential-spec folder, and the driver hands its
// content to HCS (ContainerConfig.Credentials, as moby does for schema v1).
//
// A name is one file name, never a path: nothing a spec says can reach a
// file outside the folder, and Read refuses a folder or file that others
// than administrators can change (isoagent doctor checks the folder too). A credential spec names an account and its domain but
// holds no password; still, its content is never logged or reported whole.
package credspec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/isoagent/isoagent/internal/adminonly"
	"github.com/isoagent/isoagent/winpath"
)

// DirName is the name of the credential-spec folder in the agent's state
// folder, as Docker's is in its data root (C:\ProgramData\docker\CredentialSpecs).
const DirName = "CredentialSpecs"

// MaxSize is the largest credential spec Read reads; New-CredentialSpec
// writes files of about a kilobyte.
const MaxSize = 64 << 10

// CheckName checks that name can name a credential spec: one file name
// Windows allows, without folders.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("the name is empty; give the name of a file in the agent's credential-spec folder, such as webapp01.json")
	case strings.ContainsAny(name, `\/`):
		return fmt.Errorf("%s is a path; give the name of a file in the agent's credential-spec folder alone, such as %s", winpath.Quote(name), winpath.Quote(lastElem(name)))
	}
	return winpath.CheckName(name)
}

func lastElem(p string) string {
	p = strings.TrimRight(strings.ReplaceAll(p, "/", `\`), `\`)
	if i := strings.LastIndexByte(p, '\\'); i >= 0 {
		p = p[i+1:]
	}
	if p == "" || p == "." || p == ".." {
		return "webapp01.json"
	}
	return p
}

// ErrNotFound is wrapped by Read when the folder has no such file.
var ErrNotFound = errors.New("credential spec not found")

// ErrInvalid is wrapped by Read when the file is not a credential spec.
var ErrInvalid = errors.New("not a credential spec")

// ErrNotProtected is wrapped by Read when others than administrators can
// change the folder or the file: what is in it decides which account a
// container acts as on the network.
var ErrNotProtected = errors.New("credential spec not protected")

// Read returns the content of credential spec name in folder dir. It
// wraps ErrNotFound when there is no such file, ErrNotProtected when
// others than administrators can change the folder or the file, and
// ErrInvalid when it is not a JSON object with the domain-join
// configuration a credential spec has (CmsPlugins, DomainJoinConfig), or
// larger than MaxSize. Its errors never quote the content.
func Read(dir, name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", fmt.Errorf("credential spec %q: %w", name, err)
	}
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("credential spec %s: %w in %s; create it there (New-CredentialSpec -AccountName NAME -Path %s)", name, ErrNotFound, dir, path)
	}
	if err != nil {
		return "", fmt.Errorf("credential spec %s: %w", name, err)
	}
	defer f.Close()
	for _, p := range []struct {
		path string
		dir  bool
	}{{dir, true}, {path, false}} {
		others, err := adminonly.Writers(p.path)
		if err != nil {
			return "", fmt.Errorf("credential spec %s: %w: cannot tell who may change %s: %v", name, ErrNotProtected, p.path, err)
		}
		if len(others) > 0 {
			return "", fmt.Errorf("credential spec %s: %w: %s can be changed by %s, and credential specs are read only where administrators alone can change them; %s",
				name, ErrNotProtected, p.path, strings.Join(others, ", "), adminonly.RestrictFix(p.path, p.dir))
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return "", fmt.Errorf("credential spec %s: %w", name, err)
	}
	if len(b) > MaxSize {
		return "", fmt.Errorf("credential spec %s: %w: it is larger than %d bytes", path, ErrInvalid, MaxSize)
	}
	var doc struct {
		CmsPlugins       []string        `json:"CmsPlugins"`
		DomainJoinConfig json.RawMessage `json:"DomainJoinConfig"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return "", fmt.Errorf("credential spec %s: %w: it is not JSON (at byte %d)", path, ErrInvalid, se.Offset)
		}
		return "", fmt.Errorf("credential spec %s: %w: it is not a JSON object", path, ErrInvalid)
	}
	if len(doc.CmsPlugins) == 0 || len(doc.DomainJoinConfig) == 0 {
		return "", fmt.Errorf("credential spec %s: %w: it has no CmsPlugins or DomainJoinConfig; make it with New-CredentialSpec", path, ErrInvalid)
	}
	return string(b), nil
}
