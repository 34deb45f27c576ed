package spec

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	goccy "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error of data into an *Error that
// points at the fault.
//
// yaml.v3 is a poor guide there: it reports no column, and for most
// parser errors the line of the enclosing construct counted from zero,
// that is the line before, or no line at all on the first one
// (go-yaml/yaml#205). So the file is parsed again with goccy/go-yaml,
// whose errors carry the line and column of the token at fault, and its
// position and message are used when it finds a fault too, not before
// the line yaml.v3 names (a parser's leniency differs at the edges; a
// fault it invents where yaml.v3 read on is not taken). Otherwise
// yaml.v3's message stands as it is.
func syntaxError(file string, data []byte, err error) *Error {
	msg := err.Error()
	e := &Error{File: file}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	e.Message = "invalid YAML: " + msg
	ge := locate(data)
	if ge == nil {
		return e
	}
	pos := ge.GetToken().Position
	if pos.Line < e.Line || pos.Line <= 0 {
		return e
	}
	e.Line, e.Column = pos.Line, pos.Column
	e.Message = "invalid YAML: " + ge.GetMessage()
	return e
}

// Bounds of the second parse: its time grows with the square of the
// nesting of flow collections, so a hostile file of 100,000 '[' took it
// most of a minute. Spec files are a few kilobytes and nest a few levels.
const (
	maxLocateSize  = 256 << 10
	maxLocateDepth = 64
)

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

// locate returns goccy/go-yaml's error for data, nil when it has none
// with a position. It only ever runs on a file yaml.v3 refused; should
// the second parser fail on such hostile input by panicking, yaml.v3's
// message is reported rather than the agent stopped.
func locate(data []byte) (ge goccy.Error) {
	if len(data) > maxLocateSize || roughFlowDepth(data) > maxLocateDepth {
		return nil
	}
	defer func() {
		if recover() != nil {
			ge = nil
		}
	}()
	_, err := parser.ParseBytes(data, 0)
	if !errors.As(err, &ge) || ge.GetToken() == nil || ge.GetToken().Position == nil {
		return nil
	}
	return ge
}
