//go:build windows && cgo

package main

import (
	"os"
	"path/filepath"
	"strings"
)

// containerFS is a container's file system as far as the fake can tell:
// its image layers' Files folders (drive C:) and its mapped folders, whose
// contents are taken to hold whatever is asked of them (the fake cannot
// see into the host folders the tests name).
type containerFS struct {
	layers []string // layer folders, topmost first
	mapped []string // container paths of mapped folders
}

// split returns the drive (upper case, "C:") and the rest of container
// path p, without a leading or trailing backslash.
func split(p string) (drive, rest string, ok bool) {
	p = strings.ReplaceAll(p, "/", `\`)
	if len(p) < 2 || p[1] != ':' {
		return "", "", false
	}
	return strings.ToUpper(p[:2]), strings.Trim(p[2:], `\`), true
}

// underMapped reports whether container path p is a mapped folder or in
// one.
func (c containerFS) underMapped(p string) bool {
	d, rest, ok := split(p)
	if !ok {
		return false
	}
	for _, m := range c.mapped {
		md, mrest, ok := split(m)
		if !ok || md != d {
			continue
		}
		if mrest == "" || strings.EqualFold(rest, mrest) || strings.HasPrefix(strings.ToLower(rest), strings.ToLower(mrest)+`\`) {
			return true
		}
	}
	return false
}

// stat looks container path p up in the layers.
func (c containerFS) stat(p string) (os.FileInfo, bool) {
	d, rest, ok := split(p)
	if !ok || d != "C:" {
		return nil, false
	}
	for _, l := range c.layers {
		if fi, err := os.Stat(filepath.Join(l, "Files", rest)); err == nil {
			return fi, true
		}
	}
	return nil, false
}

// holdsMapped reports whether container path p is a folder a mapped
// folder is in: HCS makes the folders a mapped folder's path needs.
func (c containerFS) holdsMapped(p string) bool {
	d, rest, ok := split(p)
	if !ok {
		return false
	}
	for _, m := range c.mapped {
		md, mrest, ok := split(m)
		if ok && md == d && (rest == "" || strings.HasPrefix(strings.ToLower(mrest), strings.ToLower(rest)+`\`)) {
			return true
		}
	}
	return false
}

// isDir reports whether container path p is a folder.
func (c containerFS) isDir(p string) bool {
	if _, rest, ok := split(p); ok && rest == "" {
		return true // a drive's root
	}
	if c.underMapped(p) || c.holdsMapped(p) {
		return true
	}
	fi, ok := c.stat(p)
	return ok && fi.IsDir()
}

// isFile reports whether container path p is a file.
func (c containerFS) isFile(p string) bool {
	if c.underMapped(p) {
		return true
	}
	fi, ok := c.stat(p)
	return ok && !fi.IsDir()
}

// findProgram finds the program of argv0 as CreateProcess does in the
// container: a path as given (relative to workDir when it is not
// absolute), a bare name in workDir, the folders of the system PATH a
// Windows image's registry gives every process (System32, Windows and
// Windows PowerShell's) and the PATH of env; without an extension ".exe"
// is tried.
func (c containerFS) findProgram(argv0, workDir string, env map[string]string) (string, bool) {
	names := []string{argv0}
	if filepath.Ext(argv0) == "" {
		names = append(names, argv0+".exe")
	}
	var dirs []string
	switch {
	case len(argv0) >= 2 && argv0[1] == ':':
		dirs = []string{""}
	case strings.ContainsAny(argv0, `\/`):
		dirs = []string{workDir}
	default:
		dirs = []string{workDir, `C:\Windows\System32`, `C:\Windows`, `C:\Windows\System32\WindowsPowerShell\v1.0`}
		for k, v := range env {
			if strings.EqualFold(k, "PATH") {
				dirs = append(dirs, strings.Split(v, ";")...)
			}
		}
	}
	for _, d := range dirs {
		for _, n := range names {
			p := n
			if d != "" {
				p = strings.TrimRight(d, `\`) + `\` + n
			}
			if c.isFile(p) {
				return p, true
			}
		}
	}
	return "", false
}

// exitsWithoutStdin reports whether argv is a shell that reads its
// commands from stdin: cmd without /c or /k, or PowerShell given no
// command or script. Without a stdin it reads the end of its input and
// exits at once, with 0, as `docker run servercore` does without -i.
func exitsWithoutStdin(argv []string) bool {
	name := strings.ToLower(filepath.Base(strings.ReplaceAll(argv[0], `\`, "/")))
	name = strings.TrimSuffix(name, ".exe")
	switch name {
	case "cmd":
		for _, a := range argv[1:] {
			if strings.EqualFold(a, "/c") || strings.EqualFold(a, "/k") {
				return false
			}
		}
		return true
	case "powershell", "pwsh":
		for _, a := range argv[1:] {
			if !strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "/") {
				return false // a command or a script file
			}
			switch strings.ToLower(strings.TrimLeft(a, "-/")) {
			case "command", "c", "file", "f", "encodedcommand", "e", "ec":
				return false
			}
		}
		return true
	}
	return false
}
