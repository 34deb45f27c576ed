package hcs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// testImage is an image to lay out in a fake Docker store.
type testImage struct {
	Ref        string
	OSVersion  string
	Entrypoint []string
	Cmd        []string
	// UtilityVM gives the base layer a UtilityVM folder, as Windows base
	// images have.
	UtilityVM bool
}

func hexOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// writeDockerImage lays im out under Docker data root root the way the
// windowsfilter graph driver does (two layers: a base and one on top) and
// returns its layer folders, topmost first.
func writeDockerImage(t *testing.T, root string, im testImage) []string {
	t.Helper()
	name, key, err := dockerKeys(im.Ref)
	if err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(root, "image", "windowsfilter")
	diffs := []string{"sha256:" + hexOf("base-diff:"+im.Ref), "sha256:" + hexOf("top-diff:"+im.Ref)}
	baseCache, topCache := hexOf("base-cache:"+im.Ref), hexOf("top-cache:"+im.Ref)
	base := filepath.Join(root, "windowsfilter", baseCache)
	top := filepath.Join(root, "windowsfilter", topCache)

	cfg := map[string]any{
		"architecture": "amd64", "os": "windows",
		"config": map[string]any{"Entrypoint": im.Entrypoint, "Cmd": im.Cmd},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffs},
	}
	if im.OSVersion != "" {
		cfg["os.version"] = im.OSVersion
	}
	imageID := hexOf("image:" + im.Ref)
	writeJSONFile(t, filepath.Join(meta, "imagedb", "content", "sha256", imageID), cfg)
	writeFile(t, filepath.Join(meta, "layerdb", "sha256", chainID(diffs[:1])[len("sha256:"):], "cache-id"), baseCache)
	writeFile(t, filepath.Join(meta, "layerdb", "sha256", chainID(diffs)[len("sha256:"):], "cache-id"), topCache)
	writeFile(t, filepath.Join(base, "layerchain.json"), "null")
	writeJSONFile(t, filepath.Join(top, "layerchain.json"), []string{base})
	if im.UtilityVM {
		if err := os.MkdirAll(filepath.Join(base, "UtilityVM", "Files"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The fake HCS tells images apart by this marker in the top layer.
	writeFile(t, filepath.Join(top, "fakehcs-image.txt"), im.Ref)

	reposPath := filepath.Join(meta, "repositories.json")
	repos := struct {
		Repositories map[string]map[string]string
	}{map[string]map[string]string{}}
	if b, err := os.ReadFile(reposPath); err == nil {
		if err := json.Unmarshal(b, &repos); err != nil {
			t.Fatal(err)
		}
	}
	if repos.Repositories[name] == nil {
		repos.Repositories[name] = map[string]string{}
	}
	repos.Repositories[name][key] = "sha256:" + imageID
	writeJSONFile(t, reposPath, repos)
	return []string{top, base}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(b))
}
