package hcs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/hcs/internal/dockerref"
	"github.com/isoagent/isoagent/internal/safefile"
)

// ImageStore resolves image references to what HCS needs to run them. The
// driver asks it for every Create and Image call; a second store (one that
// pulls images itself) can be added behind the same interface.
type ImageStore interface {
	// Resolve looks ref up. It wraps driver.ErrNotFound when the store does
	// not have the image, with a message saying how to get it.
	Resolve(ctx context.Context, ref string) (ResolvedImage, error)
}

// ResolvedImage is an image as a store holds it.
type ResolvedImage struct {
	Ref string
	// Layers are the image's read-only layer folders, topmost first and
	// the base layer last, the order HCS expects.
	Layers []string
	// OSVersion is the image config's os.version; zero when the config
	// does not say.
	OSVersion driver.OSVersion
	// Entrypoint and Cmd are the image's default command.
	Entrypoint []string
	Cmd        []string
	// ArgsEscaped reports that the last element of Cmd (or Entrypoint) is
	// a whole command line rather than one argument, as Windows images
	// built by Docker often record.
	ArgsEscaped bool
}

// Command is the image's default command: Entrypoint followed by Cmd.
func (im ResolvedImage) Command() []string {
	cmd := append([]string(nil), im.Entrypoint...)
	return append(cmd, im.Cmd...)
}

// DefaultDockerRoot is where Docker keeps its data on Windows unless its
// daemon.json says otherwise (see DockerRoot).
const DefaultDockerRoot = `C:\ProgramData\docker`

// DockerRoot returns Docker's data root: data-root from
// <programData>\docker\config\daemon.json when it sets one, else
// <programData>\docker.
func DockerRoot(programData string) string {
	root := filepath.Join(programData, "docker")
	b, err := safefile.ReadFile(filepath.Join(root, "config", "daemon.json"))
	if err != nil {
		return root
	}
	var cfg struct {
		DataRoot string `json:"data-root"`
		Graph    string `json:"graph"` // the pre-2017 name of data-root
	}
	if json.Unmarshal(b, &cfg) != nil {
		return root
	}
	switch {
	case cfg.DataRoot != "":
		return cfg.DataRoot
	case cfg.Graph != "":
		return cfg.Graph
	}
	return root
}

// DockerStore reads images from the local image store of a Docker engine
// on Windows that uses the windowsfilter graph driver (Docker's default
// there). It only reads: pulling stays with Docker (`docker pull`), and
// `docker image rm` can remove layers a container still uses, so operators
// should not prune images isoagent runs.
//
// The layout (moby daemon/graphdriver/windows, daemon/internal/layer):
//
//	<root>\image\windowsfilter\repositories.json       reference -> image ID
//	<root>\image\windowsfilter\imagedb\content\sha256\<id>   image config
//	<root>\image\windowsfilter\layerdb\sha256\<chain-id>\cache-id
//	<root>\windowsfilter\<cache-id>\layerchain.json    parent layer folders
type DockerStore struct {
	// Root is Docker's data root, e.g. C:\ProgramData\docker.
	Root string
}

var _ ImageStore = DockerStore{}

// Resolve implements ImageStore.
func (s DockerStore) Resolve(ctx context.Context, ref string) (ResolvedImage, error) {
	if err := ctx.Err(); err != nil {
		return ResolvedImage{}, err
	}
	notFound := func() error {
		return fmt.Errorf("image %s: %w in Docker's image store %s; pull it with `docker pull %s`", ref, driver.ErrNotFound, s.Root, ref)
	}
	name, key, err := dockerKeys(ref)
	if err != nil {
		return ResolvedImage{}, err
	}
	meta := filepath.Join(s.Root, "image", "windowsfilter")
	var repos struct {
		Repositories map[string]map[string]string
	}
	if err := readJSON(filepath.Join(meta, "repositories.json"), &repos); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ResolvedImage{}, notFound()
		}
		return ResolvedImage{}, fmt.Errorf("image %s: %w", ref, err)
	}
	id, ok := repos.Repositories[name][key]
	if !ok {
		return ResolvedImage{}, notFound()
	}
	hexID, ok := strings.CutPrefix(id, "sha256:")
	if !ok {
		return ResolvedImage{}, fmt.Errorf("image %s: unexpected image ID %q in repositories.json", ref, id)
	}
	var cfg struct {
		OSVersion string `json:"os.version"`
		Config    struct {
			Entrypoint  []string
			Cmd         []string
			ArgsEscaped bool
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := readJSON(filepath.Join(meta, "imagedb", "content", "sha256", hexID), &cfg); err != nil {
		return ResolvedImage{}, fmt.Errorf("image %s: read config: %w", ref, err)
	}
	if len(cfg.RootFS.DiffIDs) == 0 {
		return ResolvedImage{}, fmt.Errorf("image %s: config lists no layers", ref)
	}
	im := ResolvedImage{
		Ref:         ref,
		Entrypoint:  cfg.Config.Entrypoint,
		Cmd:         cfg.Config.Cmd,
		ArgsEscaped: cfg.Config.ArgsEscaped,
	}
	if cfg.OSVersion != "" {
		v, err := driver.ParseOSVersion(cfg.OSVersion)
		if err != nil {
			return ResolvedImage{}, fmt.Errorf("image %s: os.version: %w", ref, err)
		}
		im.OSVersion = v
	}
	chain := chainID(cfg.RootFS.DiffIDs)
	cacheID, err := safefile.ReadFile(filepath.Join(meta, "layerdb", "sha256", strings.TrimPrefix(chain, "sha256:"), "cache-id"))
	if err != nil {
		return ResolvedImage{}, fmt.Errorf("image %s: top layer %s: %w", ref, chain, err)
	}
	top := filepath.Join(s.Root, "windowsfilter", strings.TrimSpace(string(cacheID)))
	var parents []string
	if err := readJSON(filepath.Join(top, "layerchain.json"), &parents); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ResolvedImage{}, fmt.Errorf("image %s: %w", ref, err)
	}
	im.Layers = append([]string{top}, parents...)
	for _, l := range im.Layers {
		if _, err := os.Stat(l); err != nil {
			return ResolvedImage{}, fmt.Errorf("image %s: layer folder missing (was the image removed? pull it again with `docker pull %s`): %w", ref, ref, err)
		}
	}
	return im, nil
}

// dockerKeys returns the keys repositories.json files ref under.
func dockerKeys(ref string) (name, key string, err error) { return dockerref.Keys(ref) }

// chainID is the OCI chain ID of the layer stack given by diffIDs (base
// first): c0 = d0, cn = sha256(c(n-1) + " " + dn).
func chainID(diffIDs []string) string {
	c := diffIDs[0]
	for _, d := range diffIDs[1:] {
		sum := sha256.Sum256([]byte(c + " " + d))
		c = "sha256:" + hex.EncodeToString(sum[:])
	}
	return c
}

func readJSON(path string, v any) error {
	b, err := safefile.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
