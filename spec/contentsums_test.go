package spec

import "testing"

func TestContentSumsCutShort(t *testing.T) {
	const content = "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: web\n"
	tests := []struct {
		name, content, data string
		want                bool
	}{
		{"cut after the first line", content, "apiVersion: isoagent/v1\n", true},
		{"cut after the third line", content, "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n", true},
		{"the whole content", content, content, false},
		{"longer", content, content + "spec: {}\n", false},
		{"cut inside a line", content, "apiVersion: isoagent/v1\nkind: Cont", false},
		{"other lines, as many", content, "apiVersion: isoagent/v2\n", false},
		{"a line changed before the cut", content, "apiVersion: isoagent/v1\nkind: Containe\n", false},
		{"empty", content, "", false},
		{"content without a last line end", "a: 1\nb: 2", "a: 1\n", true},
		{"no content", "", "a: 1\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sumContent([]byte(tt.content)).cutShort([]byte(tt.data)); got != tt.want {
				t.Errorf("cutShort(%q) of %q = %t, want %t", tt.data, tt.content, got, tt.want)
			}
		})
	}
}
