package spec

import (
	"strings"
	"testing"
)

// TestParseRefusesExplicitTags writes every kind of explicit tag at every
// kind of place a spec or policy file can hold one: each is refused with
// its line and column, and nothing of the document is decoded.
func TestParseRefusesExplicitTags(t *testing.T) {
	tags := []string{"!!int", "!!str", "!!bool", "!!float", "!!null", "!!binary", "!!timestamp",
		"!foo", "!<tag:yaml.org,2002:str>", "!!python/object:os.system", "!!python/object/apply:os.system"}
	// Each place marks where the tag goes with TAG.
	places := map[string]string{
		"a scalar value":    "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  image: TAG abc\n",
		"a number value":    "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  image: a\n  resources: {cpuCount: TAG abc}\n",
		"a map value":       "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  image: a\n  env:\n    A: TAG x\n",
		"a list item":       "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  image: a\n  command:\n    - TAG cmd\n",
		"a key":             "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  TAG image: a\n",
		"an anchored value": "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  image: &i TAG a\n  workingDir: *i\n",
		"a policy value":    "apiVersion: isoagent/v1\nkind: Policy\nports: [TAG x]\n",
	}
	for place, src := range places {
		for _, tag := range tags {
			t.Run(place+"/"+tag, func(t *testing.T) {
				text := strings.Replace(src, "TAG", tag, 1)
				// A node's position is where its properties start: its
				// anchor, when it has one, else its tag.
				at := tag
				if strings.Contains(text, "&i "+tag) {
					at = "&i " + tag
				}
				before, _, _ := strings.Cut(text, at)
				line := strings.Count(before, "\n") + 1
				col := len(before) - strings.LastIndex(before, "\n")
				var err error
				if strings.Contains(src, "kind: Policy") {
					// The policy package reads its file through DecodeFile.
					err = DecodeFile("p.yaml", []byte(text), func(*Document) {})
				} else {
					_, err = Parse("web.yaml", []byte(text))
				}
				errs := Errors(err)
				if len(errs) != 1 {
					t.Fatalf("%d problems, want the tag alone:\n%v\n%s", len(errs), err, text)
				}
				e := errs[0]
				if e.Line != line || e.Column != col || !strings.Contains(e.Message, "explicit YAML tags are not allowed") {
					t.Errorf("problem = %v, want one at %d:%d about the tag", e, line, col)
				}
			})
		}
	}
	// The document itself, and a file of a good and a tagged document.
	for _, text := range []string{"--- !Container\napiVersion: isoagent/v1\n", specYAML("web") + "---\n" + strings.Replace(specYAML("api"), "isoagent/v1", "!!str isoagent/v1", 1)} {
		if _, err := Parse("web.yaml", []byte(text)); err == nil || !strings.Contains(err.Error(), "explicit YAML tags") {
			t.Errorf("Parse(%q) = %v, want the tag refused", text, err)
		}
	}
}
