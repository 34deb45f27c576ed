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
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/safefile"
	"github.com/isoagent/isoagent/winbuild"
)

// ImageStore resolves image references to what HCS needs to run them. The
// driver asks it for every Create and Image call; a second store (one that
// pulls images itself) can be added behind the same interface.
type ImageStore interface {
	// Resolve looks ref up. It wraps driver.ErrNotFound when the store does
	// not have the image, with a message saying how to get it.
	Resolve(ctx context.Context, ref imageref.Ref) (ResolvedImage, error)
}

// ResolvedImage is an image as a store holds it.
type ResolvedImage struct {
	Ref imageref.Ref
	// Digest is the image's manifest digest, when the store knows it (the
	// store of pulled images does).
	Digest string
	// Layers are the image's read-only layer folders, topmost first and
	// the base layer last, the order HCS expects.
	Layers []string
	// OSVersion is the image config's os.version; zero when the config
	// does not say.
	OSVersion driver.OSVersion
	// Entrypoint and Cmd are the image's default command.
	Entrypoint []string
	Cmd        []string
	// ArgsEscaped reports that the first element of the command is a
	// command line as it is, not one argument, as Windows images built by
	// Docker from a shell-form CMD or ENTRYPOINT record.
	ArgsEscaped bool
	// WorkingDir, Env (NAME=value) and User are the image config's; the
	// driver merges them with the container's config (mergeProcess).
	WorkingDir string
	Env        []string
	User       string
	// Healthcheck is the image config's HEALTHCHECK; nil for none.
	Healthcheck *driver.ImageHealthcheck
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
func DockerRoot(programData string) string { return DockerStoreFor(programData).Root }

// DockerStoreFor returns the store of the Docker engine configured by
// <programData>\docker\config\daemon.json: its data root, and whether
// the engine keeps its images in its containerd image store instead of
// the windowsfilter one (moby's determineImageStoreChoice: the
// containerd-snapshotter feature, or a storage driver other than
// windowsfilter).
func DockerStoreFor(programData string) DockerStore {
	s := DockerStore{Root: filepath.Join(programData, "docker")}
	s.daemonJSON = filepath.Join(s.Root, "config", "daemon.json")
	b, err := safefile.ReadFile(s.daemonJSON)
	if err != nil {
		return s
	}
	var cfg struct {
		DataRoot      string          `json:"data-root"`
		Graph         string          `json:"graph"` // the pre-2017 name of data-root
		StorageDriver string          `json:"storage-driver"`
		Features      map[string]bool `json:"features"`
	}
	if json.Unmarshal(b, &cfg) != nil {
		return s
	}
	switch {
	case cfg.DataRoot != "":
		s.Root = cfg.DataRoot
	case cfg.Graph != "":
		s.Root = cfg.Graph
	}
	s.ContainerdStore = cfg.Features["containerd-snapshotter"] ||
		(cfg.StorageDriver != "" && cfg.StorageDriver != "windowsfilter")
	return s
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
	// ContainerdStore reports that Docker keeps its images in its
	// containerd image store, which this store cannot read: an image it
	// does not find is reported with that reason, not as one to pull.
	ContainerdStore bool
	// daemonJSON is the daemon.json that said so.
	daemonJSON string
}

var _ ImageStore = DockerStore{}

// Resolve implements ImageStore.
func (s DockerStore) Resolve(ctx context.Context, ref imageref.Ref) (ResolvedImage, error) {
	if err := ctx.Err(); err != nil {
		return ResolvedImage{}, err
	}
	notFound := func() error {
		if s.ContainerdStore {
			return fmt.Errorf("image %s: %w in Docker's windowsfilter image store %s: Docker keeps its images in its containerd image store (%s turns on the containerd-snapshotter feature or another storage driver), which isoagent cannot read; turn the feature off and pull the image again", ref, driver.ErrNotFound, s.Root, s.configName())
		}
		return fmt.Errorf("image %s: %w in Docker's image store %s; pull it with `docker pull %s`", ref, driver.ErrNotFound, s.Root, ref)
	}
	if ref.IsZero() {
		return ResolvedImage{}, fmt.Errorf("image reference %q is not valid", ref.String())
	}
	name, key := ref.DockerKeys()
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
			WorkingDir  string
			Env         []string
			User        string
			Healthcheck *driver.ImageHealthcheck
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
		WorkingDir:  cfg.Config.WorkingDir,
		Env:         cfg.Config.Env,
		User:        cfg.Config.User,
	}
	if h := cfg.Config.Healthcheck; h != nil && len(h.Test) > 0 {
		im.Healthcheck = h
	}
	if cfg.OSVersion != "" {
		v, err := winbuild.ParseVersion(cfg.OSVersion)
		if err != nil {
			return ResolvedImage{}, fmt.Errorf("image %s: os.version: %w", ref, err)
		}
		im.OSVersion = v
	}
	// Each layer's folder is <root>\windowsfilter\<cache-id>, its cache ID
	// kept in layerdb under the chain ID of the layers up to it. The
	// folders are found under the data root in force: the absolute paths
	// in a layer's layerchain.json are where the root was when the layer
	// was pulled, and a moved data root leaves them pointing at nothing.
	for i := len(cfg.RootFS.DiffIDs); i > 0; i-- {
		chain := chainID(cfg.RootFS.DiffIDs[:i])
		cacheID, err := safefile.ReadFile(filepath.Join(meta, "layerdb", "sha256", strings.TrimPrefix(chain, "sha256:"), "cache-id"))
		if err != nil {
			return ResolvedImage{}, fmt.Errorf("image %s: layer %d of %d (%s) is not in Docker's layer store (was the image removed? pull it again with `docker pull %s`): %w", ref, i, len(cfg.RootFS.DiffIDs), chain, ref, err)
		}
		im.Layers = append(im.Layers, filepath.Join(s.Root, "windowsfilter", strings.TrimSpace(string(cacheID))))
	}
	for _, l := range im.Layers {
		if _, err := os.Stat(l); err != nil {
			return ResolvedImage{}, fmt.Errorf("image %s: %w: its layer folder %s is gone (was the image removed? pull it again with `docker pull %s`)", ref, driver.ErrNotFound, l, ref)
		}
	}
	return im, nil
}

func (s DockerStore) configName() string {
	if s.daemonJSON != "" {
		return s.daemonJSON
	}
	return "daemon.json"
}

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

// Check checks that the store can be read, for isoagent doctor: Docker's
// windowsfilter image store is there under Root and Docker does not keep
// its images elsewhere (its containerd image store).
func (s DockerStore) Check() driver.Check {
	c := driver.Check{Name: "Docker's image store"}
	if s.ContainerdStore {
		c.Status = driver.CheckFail
		c.Detail = fmt.Sprintf("Docker keeps its images in its containerd image store (%s turns on the containerd-snapshotter feature or another storage driver), which isoagent cannot read", s.configName())
		c.Fix = fmt.Sprintf(`remove the containerd-snapshotter feature (and storage-driver) from %s, restart Docker (Restart-Service docker) and pull the images again`, s.configName())
		return c
	}
	var repos struct {
		Repositories map[string]map[string]string
	}
	err := readJSON(filepath.Join(s.Root, "image", "windowsfilter", "repositories.json"), &repos)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Status = driver.CheckFail
		c.Detail = fmt.Sprintf("no windowsfilter image store under %s", s.Root)
		c.Fix = "install Docker (the agent runs the images it pulled) and pull the images the specs name (docker pull IMAGE); give --docker-root when Docker's data root is elsewhere"
	case err != nil:
		c.Status = driver.CheckFail
		c.Detail = fmt.Sprintf("cannot read Docker's image store: %v", err)
		c.Fix = "run isoagent as an administrator; if the file is damaged, restart Docker (Restart-Service docker)"
	default:
		n := 0
		for _, tags := range repos.Repositories {
			n += len(tags)
		}
		c.Status = driver.CheckPass
		c.Detail = fmt.Sprintf("%s, %d image references", s.Root, n)
	}
	return c
}
