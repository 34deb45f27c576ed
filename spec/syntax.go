package spec

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the problems yaml.v3's parser (as opposed to its
// scanner) reports. It names their line counted from zero, so one before
// the line at fault, and none when that is the first line; its scanner
// counts from one (go-yaml/yaml#205: yaml.v3's decode.go adds one for
// scanner errors only).
var yamlParserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// yamlScannerProblems start the problems yaml.v3's scanner reports (some
// end with a number or a character): lines counted from one, none for the
// first line.
var yamlScannerProblems = []string{
	"block sequence entries are not allowed",
	"could not find expected",
	"did not find URI escaped octet",
	"did not find expected",
	"did not find the expected '>'",
	"exceeded max depth",
	"found a tab character",
	"found an incorrect",
	"found an indentation indicator",
	"found character that cannot start any token",
	"found extremely long version number",
	"found invalid Unicode character escape code",
	"found unexpected",
	"found unknown",
	"mapping keys are not allowed",
	"mapping values are not allowed",
}

// syntaxError turns yaml.v3's error for data, the content of file, into
// an *Error at the line of the fault, which yaml.v3 names in two ways:
// counted from one for its scanner's problems, from zero for its parser's
// (the line of the construct being parsed, or of the token found there),
// and not at all when that is the first line. yaml.v3 tells no column;
// LoaderOptions.LocateSyntax may find it. Its other errors (the reader's:
// encodings, control characters) keep what it says.
func syntaxError(file string, data []byte, err error) *Error {
	msg := err.Error()
	e := &Error{File: file, syntax: true}
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	e.Message = "invalid YAML: " + msg
	switch {
	case isProblem(msg, yamlParserProblems, false):
		line++
	case isProblem(msg, yamlScannerProblems, true):
		line = max(line, 1)
	}
	// The end of the stream, where an unclosed construct is found out, is
	// on the line after the file's last line break: the fault is on the
	// last line.
	e.Line = min(line, lineCount(data))
	return e
}

func isProblem(msg string, problems []string, prefix bool) bool {
	for _, p := range problems {
		if msg == p || prefix && strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// lineCount is the number of lines of data, the last one counted whether
// or not a line break ends it.
func lineCount(data []byte) int {
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// A SyntaxLocator finds the fault in data, a file yaml.v3 refused as YAML,
// more precisely than yaml.v3 tells: its line and column (1-based) and
// what is wrong there. ok is false when it finds none. It runs only on
// files that failed to parse, so it may be slow; it must not panic, hang
// or use memory out of proportion to data, however hostile.
type SyntaxLocator func(data []byte) (line, column int, message string, ok bool)

// LocateSyntax returns err, the problems found in data (as Parse returns
// them), with its YAML syntax error, if any, at the position locate finds,
// when that is not before the line yaml.v3 named: two parsers' leniency
// differs at the edges, and a fault the locator finds before yaml.v3's
// is one that yaml.v3 read past. Other problems are left as they are.
func LocateSyntax(err error, data []byte, locate SyntaxLocator) error {
	if err == nil || locate == nil {
		return err
	}
	errs := Errors(err)
	found := false
	for i, e := range errs {
		if !e.syntax {
			continue
		}
		line, col, msg, ok := locate(data)
		if !ok || line < e.Line || line > lineCount(data) || col < 0 {
			return err
		}
		c := *e
		c.Line, c.Column, c.Message = line, col, "invalid YAML: "+msg
		errs[i], found = &c, true
	}
	if !found {
		return err
	}
	// Sorted again, not capped again: err was.
	sortErrors(errs)
	return multiError(errs)
}
