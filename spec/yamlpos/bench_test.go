package yamlpos_test

import (
	"os"
	"testing"

	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/spec/yamlpos"
)

// BenchmarkParseRefused parses a file yaml.v3 refuses, alone and then
// located: what the second parse costs, on refused files only.
func BenchmarkParseRefused(b *testing.B) {
	data, err := os.ReadFile("../../examples/bad/broken.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("yaml.v3", func(b *testing.B) {
		for b.Loop() {
			spec.Parse("broken.yaml", data)
		}
	})
	b.Run("located", func(b *testing.B) {
		for b.Loop() {
			_, err := spec.Parse("broken.yaml", data)
			spec.LocateSyntax(err, data, yamlpos.Locate)
		}
	})
}
