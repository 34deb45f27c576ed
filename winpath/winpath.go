// Package winpath parses Windows file paths and named-pipe names, giving
// the same answers on every operating system. It sits below both the spec
// format and the drivers: a path is parsed once, where it enters the agent
// (spec and policy validation, a driver's answer from the host), and
// travels as a Path or Pipe from there, so no layer parses it again.
//
// Spec files are validated on Linux build machines and applied on Windows
// hosts, so path/filepath, whose rules depend on the OS it runs on, cannot
// be used. The rules here are Windows' own, restricted to what is safe to
// hand to a container runtime: absolute drive paths (C:\data) and UNC
// shares (\\server\share\data), with the long form \\?\ accepted and
// normalised. Everything Windows would silently reinterpret is rejected
// rather than resolved: "." and ".." components, trailing dots and spaces
// (Windows strips them from a path's last component, and a single dot
// from any other: C:\Windows.\System32. opens C:\Windows\System32),
// reserved device names (CON, NUL.txt, ...), drive-relative paths (C:foo)
// and device paths (\\.\C:, \\?\Volume{...}).
//
// A \\?\ path is one Windows does not normalise: it takes every character
// literally. Parse normalises it explicitly into the drive or UNC path it
// spells, and that form, never the \\?\ spelling, is what the policy
// checks and the agent hands on, so a container gets what was checked.
// Since every component that normalisation would change is rejected in
// any spelling, the literal and the normalised reading of a \\?\ path
// agree, but for forward slashes and doubled separators, which Windows
// would keep (and fail on) and Parse normalises. Named pipes (see
// ParsePipe) are resolved as Windows resolves \\.\ paths: their trailing
// dots and spaces are stripped.
//
// Comparisons are case-insensitive, as on NTFS.
package winpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Path is a parsed, normalised absolute Windows path: either a drive path
// (C:\data, drive letter upper case) or a UNC path (\\server\share\data).
// Separators are single backslashes and there is no trailing separator
// except on a drive root (C:\). The zero Path is not valid; Parse never
// returns it without an error.
type Path struct {
	s   string // normalised form
	vol int    // length of the volume prefix: 2 for "C:", len(`\\server\share`) for UNC
	unc bool
}

// Parse parses s as an absolute Windows path and returns it normalised:
// forward slashes become backslashes, repeated separators collapse, the
// drive letter is upper-cased, and the long forms \\?\C:\... and
// \\?\UNC\server\share\... become C:\... and \\server\share\....
//
// Parse rejects, with a message that says how to fix it: empty and
// relative paths, drive-relative paths (C:foo), paths rooted on the
// current drive (\data), device paths (\\.\..., \\?\Volume{...},
// \\?\GLOBALROOT), named pipes, "." and ".." components, components with
// trailing dots or spaces, characters Windows forbids in names
// (<>:"|?* and control characters), and reserved device names (CON, PRN,
// AUX, NUL, CONIN$, CONOUT$, COM0-9, LPT0-9, also with an extension such
// as NUL.txt, in any case, as any component).
//
// UNC paths are accepted; IsUNC reports them, and callers decide whether
// they are allowed.
func Parse(s string) (Path, error) {
	if s == "" {
		return Path{}, fmt.Errorf("path is empty; give an absolute Windows path such as C:\\data")
	}
	if !utf8.ValidString(s) {
		return Path{}, fmt.Errorf("path %s is not valid UTF-8", Quote(s))
	}
	t := strings.ReplaceAll(s, "/", `\`)
	switch {
	case strings.HasPrefix(t, `\\?\`):
		return parseLong(s, t[4:])
	case strings.HasPrefix(t, `\??\`):
		return Path{}, fmt.Errorf("path %s is an NT object path; write a drive path such as C:\\data", Quote(s))
	case strings.HasPrefix(t, `\\.\`) || t == `\\.` || t == `\\?`:
		rest := strings.ToUpper(strings.TrimPrefix(t, `\\.\`))
		if strings.HasPrefix(rest, `PIPE\`) {
			return Path{}, fmt.Errorf("%s is a named pipe, not a folder; map it under pipes", Quote(s))
		}
		return Path{}, fmt.Errorf("path %s is a device path; write a drive path such as C:\\data", Quote(s))
	case strings.HasPrefix(t, `\\`):
		return parseUNC(s, t[2:])
	case strings.HasPrefix(t, `\`):
		return Path{}, fmt.Errorf("path %s is relative to the current drive; start it with a drive letter, such as C:%s", Quote(s), t)
	}
	if len(t) >= 2 && t[1] == ':' {
		if !isDriveLetter(t[0]) {
			return Path{}, fmt.Errorf("path %s does not start with a drive letter A to Z; write one such as C:\\data", Quote(s))
		}
		if len(t) == 2 || t[2] != '\\' {
			return Path{}, fmt.Errorf("path %s is relative to the current folder of drive %s; write an absolute path such as %s\\%s",
				Quote(s), t[:2], strings.ToUpper(t[:2]), t[2:])
		}
		return parseDrive(s, t)
	}
	return Path{}, fmt.Errorf("path %s is relative; write an absolute Windows path such as C:\\data", Quote(s))
}

// MustParse is like Parse but panics on error; for tests and constants.
func MustParse(s string) Path {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// parseLong handles what follows \\?\ in the long-path form.
func parseLong(orig, rest string) (Path, error) {
	up := strings.ToUpper(rest)
	switch {
	case len(rest) >= 3 && isDriveLetter(rest[0]) && rest[1] == ':' && rest[2] == '\\':
		return parseDrive(orig, rest)
	case strings.HasPrefix(up, `UNC\`):
		return parseUNC(orig, rest[4:])
	case strings.HasPrefix(up, "VOLUME{"):
		return Path{}, fmt.Errorf("path %s names a volume by GUID; write the drive path, such as D:\\data", Quote(orig))
	case strings.HasPrefix(up, "GLOBALROOT"):
		return Path{}, fmt.Errorf("path %s is a \\\\?\\GLOBALROOT device path; write a drive path such as C:\\data", Quote(orig))
	}
	return Path{}, fmt.Errorf("path %s is a device path; write a drive path such as C:\\data", Quote(orig))
}

func parseDrive(orig, t string) (Path, error) {
	elems, err := parseElems(orig, t[3:])
	if err != nil {
		return Path{}, err
	}
	s := strings.ToUpper(t[:1]) + `:\` + strings.Join(elems, `\`)
	return Path{s: s, vol: 2}, nil
}

// parseUNC parses server\share\rest, what follows the leading \\.
func parseUNC(orig, t string) (Path, error) {
	parts := strings.SplitN(t, `\`, 3)
	server := parts[0]
	if server == "" {
		return Path{}, fmt.Errorf("UNC path %s has no server name; write one such as \\\\fileserver\\share\\data", Quote(orig))
	}
	if server == "." {
		// \\?\UNC\.\x is \\.\x: the local device namespace, not a share.
		return Path{}, fmt.Errorf("path %s is a device path; write a drive path such as C:\\data", Quote(orig))
	}
	if strings.ContainsAny(server, `<>:"|?*`) || hasControl(server) || strings.HasSuffix(server, ".") || strings.HasSuffix(server, " ") {
		return Path{}, fmt.Errorf("UNC path %s has an invalid server name %s", Quote(orig), Quote(server))
	}
	if len(parts) < 2 || parts[1] == "" {
		return Path{}, fmt.Errorf("UNC path %s has no share; write it as \\\\%s\\share\\folder", Quote(orig), server)
	}
	share := parts[1]
	if strings.EqualFold(share, "pipe") {
		return Path{}, fmt.Errorf("%s is a named pipe on another machine, not a folder; remote pipes cannot be mapped", Quote(orig))
	}
	if err := checkElem(orig, share); err != nil {
		return Path{}, err
	}
	var elems []string
	if len(parts) == 3 {
		var err error
		if elems, err = parseElems(orig, parts[2]); err != nil {
			return Path{}, err
		}
	}
	vol := `\\` + server + `\` + share
	s := vol
	if len(elems) > 0 {
		s += `\` + strings.Join(elems, `\`)
	}
	return Path{s: s, vol: len(vol), unc: true}, nil
}

// parseElems splits the part of a path after its volume into components,
// dropping empty ones (Windows collapses repeated separators), and checks
// each.
func parseElems(orig, t string) ([]string, error) {
	var elems []string
	for _, e := range strings.Split(t, `\`) {
		if e == "" {
			continue
		}
		if err := checkElem(orig, e); err != nil {
			return nil, err
		}
		elems = append(elems, e)
	}
	return elems, nil
}

// reserved are the device names Windows reserves in every folder, upper
// case. The superscript digits are reserved too: Windows maps them to the
// plain ones.
var reserved = func() map[string]bool {
	m := map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true}
	for _, d := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³"} {
		m["COM"+d] = true
		m["LPT"+d] = true
	}
	return m
}()

// CheckName checks that name is one file or folder name Windows allows in
// a path: no separators, not "." or "..", none of <>:"|?* or control
// characters, no trailing dot or space, not a reserved device name.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("the name is empty")
	case strings.ContainsAny(name, `\/`):
		return fmt.Errorf("%s is a path, not a single name", Quote(name))
	}
	return checkElem(name, name)
}

func checkElem(orig, e string) error {
	switch e {
	case ".":
		return fmt.Errorf("path %s contains a \".\" component; remove it", Quote(orig))
	case "..":
		return fmt.Errorf("path %s contains a \"..\" component; write the path without it (it is rejected, not resolved)", Quote(orig))
	}
	if i := strings.IndexAny(e, `<>:"|?*`); i >= 0 {
		return fmt.Errorf("path %s: component %s contains %q, which Windows does not allow in names", Quote(orig), Quote(e), e[i])
	}
	if hasControl(e) {
		return fmt.Errorf("path %s: component %s contains a control character", Quote(orig), Quote(e))
	}
	if last := e[len(e)-1]; last == '.' || last == ' ' {
		return fmt.Errorf("path %s: component %s ends in a dot or space, which Windows strips; remove it", Quote(orig), Quote(e))
	}
	// The device name is what precedes the first dot, with trailing spaces
	// stripped: "NUL.txt" and "nul .tar.gz" both open the NUL device.
	base, _, _ := strings.Cut(e, ".")
	base = strings.TrimRight(base, " ")
	if reserved[strings.ToUpper(base)] {
		return fmt.Errorf("path %s: %s is a reserved device name in Windows (also with an extension); rename it", Quote(orig), Quote(e))
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

func isDriveLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// String returns the normalised path.
func (p Path) String() string { return p.s }

// IsZero reports whether p is the zero Path.
func (p Path) IsZero() bool { return p.s == "" }

// IsUNC reports whether p is a UNC path (\\server\share\...).
func (p Path) IsUNC() bool { return p.unc }

// Volume returns the drive ("C:") or the UNC share (\\server\share).
func (p Path) Volume() string { return p.s[:p.vol] }

// IsDriveRoot reports whether p is the root of a drive, such as C:\.
func (p Path) IsDriveRoot() bool { return !p.unc && len(p.s) == 3 }

// IsRoot reports whether p is the root of its volume: a drive root or a
// UNC share itself.
func (p Path) IsRoot() bool { return len(p.Elems()) == 0 }

// Elems returns p's components after the volume.
func (p Path) Elems() []string {
	rest := strings.TrimPrefix(p.s[p.vol:], `\`)
	if rest == "" {
		return nil
	}
	return strings.Split(rest, `\`)
}

// MarshalText returns the normalised path.
func (p Path) MarshalText() ([]byte, error) { return p.AppendText(nil) }

// AppendText appends the normalised path to b.
func (p Path) AppendText(b []byte) ([]byte, error) { return append(b, p.s...), nil }

// UnmarshalText parses text with Parse. Empty text is the zero Path, so
// that a zero Path written by MarshalText reads back.
func (p *Path) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*p = Path{}
		return nil
	}
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Equal reports whether a and b name the same path, ignoring case as
// Windows does.
func Equal(a, b Path) bool {
	return a.unc == b.unc && equalFold(a.s, b.s)
}

// HasPrefix reports whether p is prefix or lies under it, comparing whole
// components and ignoring case: D:\data\web has the prefix D:\data and D:\
// but not D:\dat. A drive path never has a UNC prefix or the reverse.
func HasPrefix(p, prefix Path) bool {
	if p.unc != prefix.unc || p.IsZero() || prefix.IsZero() {
		return false
	}
	if !equalFold(p.Volume(), prefix.Volume()) {
		return false
	}
	pe, xe := p.Elems(), prefix.Elems()
	if len(xe) > len(pe) {
		return false
	}
	for i := range xe {
		if !equalFold(pe[i], xe[i]) {
			return false
		}
	}
	return true
}

// equalFold compares like NTFS: each character upper-cased on its own,
// with no multi-character or special folding (unlike strings.EqualFold,
// which would equate K and the Kelvin sign).
func equalFold(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb && unicode.ToUpper(ra) != unicode.ToUpper(rb) {
			return false
		}
		a, b = a[na:], b[nb:]
	}
	return a == b
}

// Quote quotes s for messages the way YAML single quotes would, so a
// Windows path reads as the user wrote it ('C:\data', not "C:\\data");
// strings that cannot be shown that way are Go-quoted.
func Quote(s string) string {
	if strings.ContainsRune(s, '\'') || hasControl(s) || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	return "'" + s + "'"
}
