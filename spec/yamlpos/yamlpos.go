// Package yamlpos finds where a YAML syntax error is, line and column,
// for a file that gopkg.in/yaml.v3 refused: yaml.v3 tells no column, and
// for its parser's problems only the line of the enclosing construct
// (go-yaml/yaml#205). Locate is a spec.SyntaxLocator; callers set it as
// spec.LoaderOptions.LocateSyntax.
//
// It parses the file again with github.com/goccy/go-yaml, whose errors
// carry the position of the token at fault. That parser is kept out of
// package spec: linked into spec's own binaries it slowed the spec fuzz
// target a hundredfold, and only files that already failed need it.
package yamlpos

import (
	"errors"

	goccy "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
)

// Bounds of the second parse: its time grows with the square of the
// nesting of flow collections (a hostile file of 100,000 '[' took it most
// of a minute). Spec files are a few kilobytes and nest a few levels;
// past these bounds yaml.v3's line stands.
const (
	maxSize  = 256 << 10
	maxDepth = 64
)

// Locate returns the line and column (1-based) of the syntax error that
// goccy/go-yaml finds in data and its message, ok false when it finds
// none with a position, when data is past its bounds, or when it panics
// on hostile input (yaml.v3's message then stands, rather than the agent
// stopping).
func Locate(data []byte) (line, column int, message string, ok bool) {
	if len(data) > maxSize || roughFlowDepth(data) > maxDepth {
		return 0, 0, "", false
	}
	defer func() {
		if recover() != nil {
			line, column, message, ok = 0, 0, "", false
		}
	}()
	_, err := parser.ParseBytes(data, 0)
	var ge goccy.Error
	if !errors.As(err, &ge) || ge.GetToken() == nil || ge.GetToken().Position == nil {
		return 0, 0, "", false
	}
	pos := ge.GetToken().Position
	if pos.Line <= 0 || pos.Column <= 0 {
		return 0, 0, "", false
	}
	return pos.Line, pos.Column, ge.GetMessage(), true
}

// roughFlowDepth is the deepest nesting of [ and { in data, counted
// without regard to quoting or comments: an upper bound that is cheap.
func roughFlowDepth(data []byte) int {
	depth, deepest := 0, 0
	for _, b := range data {
		switch b {
		case '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ']', '}':
			depth = max(depth-1, 0)
		}
	}
	return deepest
}
