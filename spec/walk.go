package spec

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/isoagent/isoagent/internal/safefile"
)

// maxDepth bounds a walk, so that a folder tree swapped under it while it
// runs cannot make it go on for ever.
const maxDepth = 64

// walkFolder lists the folder of root and its subfolders, depth first in
// name order, leaving out Ignored names and not following links to
// folders. visit is called for every other entry, folders included (rel is
// slash-separated, relative to root), with the Root of the folder the
// entry is in, open for the call; bad is called for each subfolder that
// cannot be read. Only the root folder's own failure is returned. Nothing
// is opened but folders, and those without waiting (see safefile).
func walkFolder(root *safefile.Root, visit func(rel string, d fs.DirEntry, dir *safefile.Root), bad func(rel string, err error)) error {
	return walkIn(root, "", 0, visit, bad)
}

func walkIn(dir *safefile.Root, rel string, depth int, visit func(string, fs.DirEntry, *safefile.Root), bad func(string, error)) error {
	entries, err := dir.ReadDir(".")
	if err == nil && depth > maxDepth {
		err = errors.New("folders nested too deep")
	}
	if err != nil {
		if rel == "" {
			return err
		}
		bad(rel, err)
		return nil
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, d := range entries {
		if Ignored(d.Name()) {
			continue
		}
		child := d.Name()
		if rel != "" {
			child = rel + "/" + child
		}
		visit(child, d, dir)
		if !d.IsDir() {
			continue
		}
		sub, err := dir.OpenRoot(d.Name())
		if err != nil {
			bad(child, err)
			continue
		}
		err = walkIn(sub, child, depth+1, visit, bad)
		sub.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Ignored reports whether a file or folder name is skipped when a spec
// folder is read: dot names (.git, ..data) and editor leftovers (name~,
// .swp, .swx, .tmp, .bak, #name#). It is the one rule for what is read;
// the Watcher also ignores changes to editor leftovers, but not to dot
// names, since ConfigMap volumes and git-sync publish through them.
func Ignored(name string) bool {
	return strings.HasPrefix(name, ".") || editorLeftover(name)
}

// editorLeftover reports whether name is an editor's swap, backup or
// temporary file: name~, #name#, or ending in .swp, .swx, .tmp or .bak
// (any case).
func editorLeftover(name string) bool {
	if strings.HasSuffix(name, "~") || len(name) >= 2 && strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#") {
		return true
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".swp", ".swx", ".tmp", ".bak":
		return true
	}
	return false
}

// isSpecFile reports whether name is a spec file by its extension.
func isSpecFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		return true
	}
	return false
}
