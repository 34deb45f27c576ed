package winpath

import (
	"fmt"
	"strings"
)

// pipePrefix is the normalised prefix of a local named pipe.
const pipePrefix = `\\.\pipe\`

// maxPipeLen is Windows' limit on the whole pipe name, prefix included.
const maxPipeLen = 256

// Pipe is a parsed local named pipe, \\.\pipe\<name>.
type Pipe struct {
	name string
}

// ParsePipe parses s as a local named pipe. It accepts \\.\pipe\<name> and
// //./pipe/<name> (any mix of slashes, "pipe" in any case) and normalises
// to \\.\pipe\<name>, with the name as Windows resolves it: Windows
// normalises \\.\ paths as it does drive paths, stripping trailing dots
// and spaces from the last component, so \\.\pipe\lsass. and
// \\.\pipe\lsass<space> open \\.\pipe\lsass, and so does the Pipe
// ParsePipe returns. It rejects names that resolve to no pipe: ".", ".."
// and names of dots and spaces only, which open the named-pipe file
// system's root (or \\.\ itself) rather than a pipe. It also rejects
// pipes on other machines (\\host\pipe\x), the \\?\ prefix (whose names
// Windows takes literally, unlike what any other spelling opens), empty
// names, names with a backslash or control characters, and names longer
// than Windows allows.
func ParsePipe(s string) (Pipe, error) {
	t := strings.ReplaceAll(s, "/", `\`)
	if !strings.HasPrefix(t, `\\`) {
		ex := `\\.\pipe\metrics`
		if s != "" && !strings.ContainsAny(s, `\:`) {
			ex = pipePrefix + s
		}
		return Pipe{}, fmt.Errorf("pipe %s must be a local named pipe such as %s", Quote(s), ex)
	}
	host, rest, _ := strings.Cut(t[2:], `\`)
	kind, name, ok := strings.Cut(rest, `\`)
	if !ok || !strings.EqualFold(kind, "pipe") {
		return Pipe{}, fmt.Errorf("%s is not a named pipe; write one such as \\\\.\\pipe\\metrics", Quote(s))
	}
	switch host {
	case ".":
	case "?":
		return Pipe{}, fmt.Errorf("pipe %s uses the \\\\?\\ prefix; write it as \\\\.\\pipe\\%s", Quote(s), name)
	default:
		return Pipe{}, fmt.Errorf("pipe %s is on another machine (%s); only local pipes (\\\\.\\pipe\\%s) can be mapped", Quote(s), host, name)
	}
	switch {
	case name == "":
		return Pipe{}, fmt.Errorf("pipe %s has an empty name; write one such as \\\\.\\pipe\\metrics", Quote(s))
	case strings.Contains(name, `\`):
		return Pipe{}, fmt.Errorf("pipe %s: the name after \\\\.\\pipe\\ must not contain a slash or backslash", Quote(s))
	case hasControl(name):
		return Pipe{}, fmt.Errorf("pipe %s contains a control character", Quote(s))
	case name == "..":
		return Pipe{}, fmt.Errorf("pipe %s resolves to \\\\.\\ itself, not to a pipe; write a pipe name such as \\\\.\\pipe\\metrics", Quote(s))
	}
	// As Windows resolves the last component: trailing dots and spaces
	// go, and what is left of "." or "..." is the root of the pipes.
	if name = strings.TrimRight(name, ". "); name == "" {
		return Pipe{}, fmt.Errorf("pipe %s resolves to the root of the named-pipe file system (\\\\.\\pipe\\: Windows strips trailing dots and spaces), not to a pipe; write a pipe name such as \\\\.\\pipe\\metrics", Quote(s))
	}
	if len(pipePrefix)+len(name) > maxPipeLen {
		return Pipe{}, fmt.Errorf("pipe %s is %d characters long; Windows allows %d", Quote(s), len(pipePrefix)+len(name), maxPipeLen)
	}
	return Pipe{name: name}, nil
}

// MustParsePipe is like ParsePipe but panics on error; for tests and
// constants.
func MustParsePipe(s string) Pipe {
	p, err := ParsePipe(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the normalised pipe, \\.\pipe\<name>.
func (p Pipe) String() string {
	if p.name == "" {
		return ""
	}
	return pipePrefix + p.name
}

// Name returns the pipe's name, the part after \\.\pipe\.
func (p Pipe) Name() string { return p.name }

// IsZero reports whether p is the zero Pipe.
func (p Pipe) IsZero() bool { return p.name == "" }

// Equal reports whether p and q are the same pipe; pipe names ignore case.
func (p Pipe) Equal(q Pipe) bool { return equalFold(p.name, q.name) }

// MarshalText returns the normalised pipe.
func (p Pipe) MarshalText() ([]byte, error) { return p.AppendText(nil) }

// AppendText appends the normalised pipe to b; the zero Pipe appends
// nothing.
func (p Pipe) AppendText(b []byte) ([]byte, error) {
	if p.name == "" {
		return b, nil
	}
	return append(append(b, pipePrefix...), p.name...), nil
}

// UnmarshalText parses text with ParsePipe. Empty text is the zero Pipe,
// so that a zero Pipe written by MarshalText reads back.
func (p *Pipe) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*p = Pipe{}
		return nil
	}
	v, err := ParsePipe(string(text))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
