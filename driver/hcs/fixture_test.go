package hcs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/isoagent/isoagent/driver/hcs/internal/dockerfixture"
)

type testImage = dockerfixture.Image

// writeDockerImage lays im out under Docker data root root and returns its
// layer folders, topmost first.
func writeDockerImage(t *testing.T, root string, im testImage) []string {
	t.Helper()
	layers, err := dockerfixture.Write(root, im)
	if err != nil {
		t.Fatal(err)
	}
	return layers
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
