package spec

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"github.com/isoagent/isoagent/internal/safefile"
)

// gitRevision tells which git commit the content of dir comes from, or ""
// when it cannot tell. It looks, in order, for:
//
//   - a symlink on dir's path (dir itself or a parent) whose target's base
//     name is a commit: git-sync publishes each checkout as a worktree named
//     <40-hex> (v4, under .worktrees) or rev-<hex> and points a link at it;
//   - a git checkout containing dir: .git/HEAD, with refs resolved through
//     the loose refs or packed-refs (a .git file, as in worktrees and
//     submodules, is followed).
//
// It reads only a handful of small files, never blocking on one that is
// not a regular file (see safefile), and never runs git.
func gitRevision(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if rev := linkRevision(abs); rev != "" {
		return rev
	}
	for p := abs; ; {
		if rev, ok := checkoutRevision(p); ok {
			return rev
		}
		parent := filepath.Dir(p)
		if parent == p {
			return ""
		}
		p = parent
	}
}

// linkRevision looks for a git-sync link on the way from the file-system
// root to dir.
func linkRevision(dir string) string {
	for p := dir; ; {
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if target, err := os.Readlink(p); err == nil {
				base := filepath.Base(target)
				if isCommit(base) {
					return base
				}
				if h, ok := strings.CutPrefix(base, "rev-"); ok && isHex(h) && len(h) >= 7 {
					return h
				}
			}
		}
		parent := filepath.Dir(p)
		if parent == p {
			return ""
		}
		p = parent
	}
}

// checkoutRevision reads the revision of the checkout whose top is dir.
// ok is false when dir is not the top of a checkout.
func checkoutRevision(dir string) (rev string, ok bool) {
	gitPath := filepath.Join(dir, ".git")
	fi, err := os.Stat(gitPath)
	if err != nil {
		return "", false
	}
	gitDir := gitPath
	if !fi.IsDir() {
		// A .git file: "gitdir: <path>", relative to dir or absolute.
		b, err := safefile.ReadFile(gitPath)
		if err != nil {
			return "", true
		}
		target, found := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
		if !found {
			return "", true
		}
		gitDir = strings.TrimSpace(target)
		if !filepath.IsAbs(gitDir) {
			gitDir = filepath.Join(dir, gitDir)
		}
	}
	head, err := safefile.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return "", true
	}
	h := strings.TrimSpace(string(head))
	ref, symbolic := strings.CutPrefix(h, "ref:")
	if !symbolic {
		if isCommit(h) {
			return h, true
		}
		return "", true
	}
	ref = strings.TrimSpace(ref)
	// Refs of a linked worktree live in the common git folder.
	common := gitDir
	if b, err := safefile.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		c := strings.TrimSpace(string(b))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		common = c
	}
	for _, d := range []string{gitDir, common} {
		if rev := resolveRef(d, ref); rev != "" {
			return rev, true
		}
	}
	return "", true
}

func resolveRef(gitDir, ref string) string {
	if strings.Contains(ref, "..") {
		return ""
	}
	if b, err := safefile.ReadFile(filepath.Join(gitDir, filepath.FromSlash(ref))); err == nil {
		if h := strings.TrimSpace(string(b)); isCommit(h) {
			return h
		}
	}
	f, err := safefile.Open(filepath.Join(gitDir, "packed-refs"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hash, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref && isCommit(hash) {
			return hash
		}
	}
	return ""
}

// isCommit reports whether s looks like a full SHA-1 or SHA-256 commit id.
func isCommit(s string) bool {
	return (len(s) == 40 || len(s) == 64) && isHex(s)
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
