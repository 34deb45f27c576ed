package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse decodes the example specs, valid and broken: the cost
// of a file read again after a change.
func BenchmarkParse(b *testing.B) {
	for _, set := range []string{"specs", "bad"} {
		files, err := filepath.Glob(filepath.Join("..", "examples", set, "*.yaml"))
		if err != nil || len(files) == 0 {
			b.Fatalf("no examples in %s: %v", set, err)
		}
		var data [][]byte
		for _, f := range files {
			d, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			data = append(data, d)
		}
		b.Run(set, func(b *testing.B) {
			for b.Loop() {
				for _, d := range data {
					Parse("f.yaml", d)
				}
			}
		})
	}
}
