package hcs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
)

func TestDockerStoreResolvesLayersTopFirst(t *testing.T) {
	root := t.TempDir()
	want := writeDockerImage(t, root, testImage{
		Ref: "mcr.microsoft.com/windows/servercore:ltsc2022", OSVersion: "10.0.20348.2700",
		Entrypoint: []string{"powershell"}, Cmd: []string{"-c", "Start-Sleep 5"},
	})
	im, err := DockerStore{Root: root}.Resolve(context.Background(), imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(im.Layers, want) {
		t.Errorf("Layers = %q, want %q (top first)", im.Layers, want)
	}
	if v := (driver.OSVersion{Major: 10, Build: 20348, Revision: 2700}); im.OSVersion != v {
		t.Errorf("OSVersion = %s, want %s", im.OSVersion, v)
	}
	if got := im.Command(); !slices.Equal(got, []string{"powershell", "-c", "Start-Sleep 5"}) {
		t.Errorf("Command() = %q, want Entrypoint then Cmd", got)
	}
}

func TestDockerStoreFindsFamiliarNames(t *testing.T) {
	tests := []struct {
		stored, asked string
	}{
		{"nginx", "nginx"},
		{"nginx", "docker.io/library/nginx:latest"},
		{"example/app:1.2", "docker.io/example/app:1.2"},
		{"localhost:5000/app:v1", "localhost:5000/app:v1"},
		{"mcr.microsoft.com/windows/nanoserver@sha256:" + strings.Repeat("ab", 32), "mcr.microsoft.com/windows/nanoserver@sha256:" + strings.Repeat("ab", 32)},
	}
	for _, tt := range tests {
		t.Run(tt.asked, func(t *testing.T) {
			root := t.TempDir()
			writeDockerImage(t, root, testImage{Ref: tt.stored, OSVersion: "10.0.17763"})
			if _, err := (DockerStore{Root: root}).Resolve(context.Background(), imageref.MustParse(tt.asked)); err != nil {
				t.Errorf("Resolve(%q) of an image stored as %q: %v", tt.asked, tt.stored, err)
			}
		})
	}
}

func TestDockerStoreMissingImageSaysHowToPull(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
	}{
		{"no store at all", func(*testing.T, string) {}},
		{"other images only", func(t *testing.T, root string) {
			writeDockerImage(t, root, testImage{Ref: "mcr.microsoft.com/windows/nanoserver:ltsc2022"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tt.setup(t, root)
			_, err := DockerStore{Root: root}.Resolve(context.Background(), imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022"))
			if !errors.Is(err, driver.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "docker pull mcr.microsoft.com/windows/servercore:ltsc2022") {
				t.Errorf("message %q does not say how to pull the image", msg)
			}
		})
	}
}

func TestDockerStoreRemovedLayerIsAnError(t *testing.T) {
	root := t.TempDir()
	layers := writeDockerImage(t, root, testImage{Ref: "app:1"})
	if err := os.RemoveAll(layers[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := (DockerStore{Root: root}).Resolve(context.Background(), imageref.MustParse("app:1")); err == nil || !strings.Contains(err.Error(), "docker pull app:1") {
		t.Errorf("Resolve with the base layer folder gone = %v, want an error saying to pull again", err)
	}
}

func TestDockerRootFollowsDaemonJSON(t *testing.T) {
	tests := []struct {
		name, daemonJSON, want string
	}{
		{"no daemon.json", "", "docker"},
		{"data-root", `{"data-root": "D:\\docker"}`, `D:\docker`},
		{"graph (old name)", `{"graph": "E:\\docker"}`, `E:\docker`},
		{"unreadable JSON", `{`, "docker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pd := t.TempDir()
			if tt.daemonJSON != "" {
				writeFile(t, filepath.Join(pd, "docker", "config", "daemon.json"), tt.daemonJSON)
			}
			want := tt.want
			if want == "docker" {
				want = filepath.Join(pd, "docker")
			}
			if got := DockerRoot(pd); got != want {
				t.Errorf("DockerRoot = %q, want %q", got, want)
			}
		})
	}
}

func TestChainIDMatchesOCI(t *testing.T) {
	// identity.ChainID: the first layer is its own chain; each next one
	// hashes "<parent chain> <diff>".
	a, b := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	if got := chainID([]string{a}); got != a {
		t.Errorf("chainID of one layer = %s, want the diff ID", got)
	}
	if got, want := chainID([]string{a, b}), "sha256:"+fmt.Sprintf("%x", sha256.Sum256([]byte(a+" "+b))); got != want {
		t.Errorf("chainID = %s, want %s", got, want)
	}
}

// A moved data root (a new data-root in daemon.json, the folder moved
// with it) leaves the absolute paths in each layer's layerchain.json
// pointing at the old place; the layers are found under the root in force.
func TestDockerStoreFindsLayersUnderTheMovedRoot(t *testing.T) {
	old := filepath.Join(t.TempDir(), "docker")
	writeDockerImage(t, old, testImage{Ref: "app:1", OSVersion: "10.0.20348"})
	moved := filepath.Join(t.TempDir(), "D-docker")
	if err := os.Rename(old, moved); err != nil {
		t.Fatal(err)
	}
	im, err := DockerStore{Root: moved}.Resolve(context.Background(), imageref.MustParse("app:1"))
	if err != nil {
		t.Fatalf("Resolve after moving the data root: %v", err)
	}
	if len(im.Layers) != 2 {
		t.Fatalf("Layers = %q, want two", im.Layers)
	}
	for _, l := range im.Layers {
		if !strings.HasPrefix(l, moved) {
			t.Errorf("layer %s is not under the data root in force %s", l, moved)
		}
		if fi, err := os.Stat(l); err != nil || !fi.IsDir() {
			t.Errorf("layer folder %s: %v", l, err)
		}
	}
}

func TestDockerStoreReadsTheProcessSettings(t *testing.T) {
	root := t.TempDir()
	writeDockerImage(t, root, testImage{
		Ref: "orders:1", WorkingDir: `C:\app`, User: "ContainerUser", ArgsEscaped: true,
		Env: []string{`PATH=C:\Windows\system32;C:\Windows`, "DOTNET_RUNNING_IN_CONTAINER=true"},
		Cmd: []string{`cmd /S /C Orders.Api.exe`},
	})
	im, err := DockerStore{Root: root}.Resolve(context.Background(), imageref.MustParse("orders:1"))
	if err != nil {
		t.Fatal(err)
	}
	if im.WorkingDir != `C:\app` || im.User != "ContainerUser" || !im.ArgsEscaped ||
		!slices.Equal(im.Env, []string{`PATH=C:\Windows\system32;C:\Windows`, "DOTNET_RUNNING_IN_CONTAINER=true"}) {
		t.Errorf("Resolve = %+v, want the config's WorkingDir, User, Env and ArgsEscaped", im)
	}
}

func TestDockerStoreReadsTheHealthcheck(t *testing.T) {
	root := t.TempDir()
	writeDockerImage(t, root, testImage{Ref: "orders:1", Healthcheck: map[string]any{
		"Test": []string{"CMD-SHELL", "curl -f http://localhost/"}, "Interval": int64(5 * time.Second), "Retries": 2,
	}})
	writeDockerImage(t, root, testImage{Ref: "plain:1"})
	im, err := DockerStore{Root: root}.Resolve(context.Background(), imageref.MustParse("orders:1"))
	if err != nil {
		t.Fatal(err)
	}
	want := driver.ImageHealthcheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 5 * time.Second, Retries: 2}
	if im.Healthcheck == nil || !reflect.DeepEqual(*im.Healthcheck, want) {
		t.Errorf("Healthcheck = %+v, want %+v", im.Healthcheck, want)
	}
	plain, err := DockerStore{Root: root}.Resolve(context.Background(), imageref.MustParse("plain:1"))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Healthcheck != nil {
		t.Errorf("an image without HEALTHCHECK: Healthcheck = %+v, want nil", plain.Healthcheck)
	}
}

func TestDockerStoreSaysWhenDockerUsesContainerdStore(t *testing.T) {
	tests := []struct {
		name, daemonJSON string
		containerd       bool
	}{
		{"windowsfilter", `{}`, false},
		{"containerd-snapshotter", `{"features": {"containerd-snapshotter": true}}`, true},
		{"snapshotter off", `{"features": {"containerd-snapshotter": false}}`, false},
		{"the windows snapshotter", `{"storage-driver": "windows"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pd := t.TempDir()
			writeFile(t, filepath.Join(pd, "docker", "config", "daemon.json"), tt.daemonJSON)
			s := DockerStoreFor(pd)
			if s.ContainerdStore != tt.containerd {
				t.Fatalf("ContainerdStore = %v, want %v", s.ContainerdStore, tt.containerd)
			}
			_, err := s.Resolve(context.Background(), imageref.MustParse("app:1"))
			if !errors.Is(err, driver.ErrNotFound) {
				t.Fatalf("Resolve = %v, want ErrNotFound", err)
			}
			pull := strings.Contains(err.Error(), "docker pull app:1")
			store := strings.Contains(err.Error(), "containerd image store")
			if tt.containerd && (pull || !store) || !tt.containerd && (!pull || store) {
				t.Errorf("message %q: with the containerd store %v it must say so (and not to pull), else how to pull", err, tt.containerd)
			}
		})
	}
}

func TestMergeProcessAsMoby(t *testing.T) {
	im := ResolvedImage{
		WorkingDir: `C:\app`, User: "ContainerUser",
		Env: []string{`Path=C:\Windows\system32`, "ASPNETCORE_URLS=http://+:80", "MODE=image", "EMPTY="},
	}
	tests := []struct {
		name string
		cfg  driver.Config
		want processSpec
	}{
		{"the image fills in", driver.Config{},
			processSpec{WorkingDir: `C:\app`, User: "ContainerUser", Env: map[string]string{"Path": `C:\Windows\system32`, "ASPNETCORE_URLS": "http://+:80", "MODE": "image", "EMPTY": ""}}},
		{"the config wins, names compare without case", driver.Config{WorkingDir: `D:\work`, User: "ContainerAdministrator", Env: map[string]string{"mode": "spec", "PATH": `C:\tools`}},
			processSpec{WorkingDir: `D:\work`, User: "ContainerAdministrator", Env: map[string]string{"PATH": `C:\tools`, "ASPNETCORE_URLS": "http://+:80", "mode": "spec", "EMPTY": ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeProcess(tt.cfg, im)
			if got.WorkingDir != tt.want.WorkingDir || got.User != tt.want.User || !maps.Equal(got.Env, tt.want.Env) {
				t.Errorf("mergeProcess = %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := mergeProcess(driver.Config{}, ResolvedImage{}); got.WorkingDir != `C:\` || got.Env != nil || got.User != "" {
		t.Errorf("mergeProcess with nothing set = %+v, want C:\\ and nothing else", got)
	}
}
