// Package dockerfixture lays out images in a fake Docker image store the
// way Docker's windowsfilter graph driver does, for the hcs driver's tests
// and for the fake HCS host of scripts/hcs-test. The layer folders hold no
// files, only what the driver and the fake HCS read.
package dockerfixture

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/isoagent/isoagent/imageref"
)

// Image is an image to lay out.
type Image struct {
	Ref        string
	OSVersion  string // the config's os.version; empty leaves it out
	Entrypoint []string
	Cmd        []string
	// ArgsEscaped, WorkingDir, Env and User are the config's.
	ArgsEscaped bool
	WorkingDir  string
	Env         []string
	User        string
	// Healthcheck is the config's HEALTHCHECK, as Docker writes it
	// (Test, Interval in nanoseconds, ...); nil leaves it out.
	Healthcheck map[string]any
	// UtilityVM gives the base layer a UtilityVM folder, as Windows base
	// images have.
	UtilityVM bool
	// Files are files (container paths such as C:\app\app.exe) the top
	// layer holds, besides the base layer's BaseFiles; they are laid out,
	// empty, under the layer's Files folder as Windows layers keep them.
	Files []string
	// Pull tells one pull of Ref from another: a different Pull gives
	// other layer folders, as pulling an image again after `docker image
	// prune` does.
	Pull string
}

// BaseFiles returns the files every image's base layer holds: the
// programs of a Windows base image the tests run.
func BaseFiles() []string {
	return []string{
		`C:\Windows\System32\cmd.exe`,
		`C:\Windows\System32\ping.exe`,
		`C:\Windows\System32\timeout.exe`,
		`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
	}
}

// MarkerFile is the file in an image's top layer folder that names the
// image for the fake HCS, which looks its OS version up in the sim's image
// catalog (a real HCS reads the base layer's registry hives).
const MarkerFile = "fakehcs-image.txt"

func hexOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// chainID is the OCI chain ID of diffIDs, base first.
func chainID(diffIDs []string) string {
	c := diffIDs[0]
	for _, d := range diffIDs[1:] {
		c = "sha256:" + hexOf(c+" "+d)
	}
	return c
}

// Write lays im out under Docker data root root, two layers (a base and
// one on top), and returns its layer folders, topmost first.
func Write(root string, im Image) ([]string, error) {
	ref, err := imageref.Parse(im.Ref)
	if err != nil {
		return nil, err
	}
	familiar, key := ref.DockerKeys()
	meta := filepath.Join(root, "image", "windowsfilter")
	salt := im.Ref + im.Pull
	diffs := []string{"sha256:" + hexOf("base-diff:"+salt), "sha256:" + hexOf("top-diff:"+salt)}
	baseCache, topCache := hexOf("base-cache:"+salt), hexOf("top-cache:"+salt)
	base := filepath.Join(root, "windowsfilter", baseCache)
	top := filepath.Join(root, "windowsfilter", topCache)

	cfg := map[string]any{
		"architecture": "amd64", "os": "windows",
		"config": map[string]any{
			"Entrypoint": im.Entrypoint, "Cmd": im.Cmd, "ArgsEscaped": im.ArgsEscaped,
			"WorkingDir": im.WorkingDir, "Env": im.Env, "User": im.User,
			"Healthcheck": im.Healthcheck,
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffs},
	}
	if im.OSVersion != "" {
		cfg["os.version"] = im.OSVersion
	}
	imageID := hexOf("image:" + salt)
	files := map[string]any{
		filepath.Join(meta, "imagedb", "content", "sha256", imageID):                                            cfg,
		filepath.Join(meta, "layerdb", "sha256", strings.TrimPrefix(chainID(diffs[:1]), "sha256:"), "cache-id"): baseCache,
		filepath.Join(meta, "layerdb", "sha256", strings.TrimPrefix(chainID(diffs), "sha256:"), "cache-id"):     topCache,
		filepath.Join(base, "layerchain.json"):                                                                  nil,
		filepath.Join(top, "layerchain.json"):                                                                   []string{base},
		filepath.Join(top, MarkerFile):                                                                          im.Ref,
	}
	for path, v := range files {
		if err := writeFile(path, v); err != nil {
			return nil, err
		}
	}
	for _, f := range BaseFiles() {
		if err := layerFile(base, f); err != nil {
			return nil, err
		}
	}
	for _, f := range im.Files {
		if err := layerFile(top, f); err != nil {
			return nil, err
		}
	}
	if im.UtilityVM {
		if err := os.MkdirAll(filepath.Join(base, "UtilityVM", "Files"), 0o755); err != nil {
			return nil, err
		}
	}

	reposPath := filepath.Join(meta, "repositories.json")
	repos := struct {
		Repositories map[string]map[string]string
	}{map[string]map[string]string{}}
	if b, err := os.ReadFile(reposPath); err == nil {
		if err := json.Unmarshal(b, &repos); err != nil {
			return nil, fmt.Errorf("%s: %w", reposPath, err)
		}
	}
	if repos.Repositories[familiar] == nil {
		repos.Repositories[familiar] = map[string]string{}
	}
	repos.Repositories[familiar][key] = "sha256:" + imageID
	if err := writeFile(reposPath, repos); err != nil {
		return nil, err
	}
	return []string{top, base}, nil
}

// layerFile creates the (empty) file of container path p, a drive path
// such as C:\app\app.exe, in layer folder layer.
func layerFile(layer, p string) error {
	_, rest, ok := strings.Cut(p, `:\`)
	if !ok {
		return fmt.Errorf("layer file %q: want a drive path such as C:\\app\\app.exe", p)
	}
	return writeFile(filepath.Join(layer, "Files", filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/"))), "")
}

// writeFile writes a string as it is and anything else as JSON.
func writeFile(path string, v any) error {
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
