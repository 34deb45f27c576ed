package winpath

import (
	"strings"
	"testing"
)

// dotsAndSpaces returns every string of dots and spaces of length 1 to n.
func dotsAndSpaces(n int) []string {
	out := []string{}
	level := []string{""}
	for range n {
		var next []string
		for _, s := range level {
			next = append(next, s+".", s+" ")
		}
		out = append(out, next...)
		level = next
	}
	return out
}

// pipePrefixes are spellings of \\.\pipe\ that Windows resolves alike.
var pipePrefixes = []string{`\\.\pipe\`, `//./pipe/`, `\\.\PIPE\`, `\/./Pipe\`, `/\.\pIpE/`}

// casings returns s as written, lower and upper case.
func casings(s string) []string {
	return []string{s, strings.ToLower(s), strings.ToUpper(s)}
}

// Issue 20 point 7: a pipe name is what Windows opens for it: trailing
// dots and spaces are stripped, whatever the spelling of the prefix and
// the case, so \\.\pipe\lsass. is \\.\pipe\lsass.
func TestParsePipeResolvesTrailingDotsAndSpaces(t *testing.T) {
	names := []string{"lsass", "InitShutdown", "openssh-ssh-agent", "docker_engine", "a.b", "with space", "x", ". x", "a..b"}
	n := 0
	for _, name := range names {
		want := MustParsePipe(`\\.\pipe\` + name)
		for _, tail := range append([]string{""}, dotsAndSpaces(4)...) {
			for _, prefix := range pipePrefixes {
				for _, spelt := range casings(name + tail) {
					in := prefix + spelt
					p, err := ParsePipe(in)
					if err != nil {
						t.Errorf("ParsePipe(%q): %v", in, err)
						continue
					}
					n++
					if !p.Equal(want) || !strings.EqualFold(p.String(), `\\.\pipe\`+name) || strings.TrimRight(p.Name(), ". ") != p.Name() {
						t.Errorf("ParsePipe(%q) = %q, want %q", in, p, want)
					}
					if again, err := ParsePipe(p.String()); err != nil || again != p {
						t.Errorf("ParsePipe(%q) = %q reparses to %q, %v", in, p, again, err)
					}
				}
			}
		}
	}
	t.Logf("%d spellings", n)
}

// The root of the named-pipe file system, and \\.\ itself, are not pipes:
// ".", "..", "..." and every name of dots and spaces only.
func TestParsePipeRefusesTheRoot(t *testing.T) {
	n := 0
	for _, name := range dotsAndSpaces(5) {
		for _, prefix := range pipePrefixes {
			in := prefix + name
			p, err := ParsePipe(in)
			n++
			want := "root of the named-pipe file system"
			if name == ".." {
				want = `resolves to \\.\ itself`
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("ParsePipe(%q) = %q, %v; want an error saying %q", in, p, err, want)
			}
		}
	}
	// A dot or space ending a component other than the last is refused
	// with the backslash it precedes; \\?\ spellings are refused whole.
	for _, in := range []string{`\\.\pipe\lsass.\x`, `\\.\pipe\.\lsass`, `\\.\pipe\..\pipe\lsass`, `\\?\pipe\lsass.`, `\\?\pipe\.`, `//?/pipe/lsass`} {
		if p, err := ParsePipe(in); err == nil {
			t.Errorf("ParsePipe(%q) = %q, want an error", in, p)
		}
	}
	t.Logf("%d spellings", n)
}

// Host paths: a component with a trailing dot or space is one Windows
// would open under another name (C:\Windows.\System32 is C:\Windows\
// System32), so it is refused in every component, every spelling of the
// volume, \\?\ included, where Windows would take it literally.
func TestParseRefusesTrailingDotsAndSpacesInEveryComponent(t *testing.T) {
	volumes := []string{`C:\`, `c:/`, `\\?\C:\`, `//?/C:/`, `\\fs01\share\`, `\\?\UNC\fs01\share\`, `//fs01/share/`}
	elems := []string{"Windows", "System32", "config"}
	n := 0
	for _, vol := range volumes {
		for i := range elems {
			for _, tail := range dotsAndSpaces(3) {
				e := append([]string(nil), elems...)
				e[i] += tail
				in := vol + strings.Join(e, `\`)
				n++
				if p, err := Parse(in); err == nil || !strings.Contains(err.Error(), "ends in a dot or space") {
					t.Errorf("Parse(%q) = %q, %v; want it refused for a trailing dot or space", in, p, err)
				}
			}
		}
	}
	// The share and the server are components too.
	for _, tail := range dotsAndSpaces(3) {
		for _, in := range []string{`\\fs01` + tail + `\share\x`, `\\fs01\share` + tail + `\x`, `\\?\UNC\fs01` + tail + `\share`, `\\?\UNC\fs01\share` + tail} {
			n++
			if p, err := Parse(in); err == nil {
				t.Errorf("Parse(%q) = %q, want it refused", in, p)
			}
		}
	}
	t.Logf("%d spellings", n)
}
