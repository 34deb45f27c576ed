// Package gitstatus tells which files of a folder differ from the commit
// of the git checkout that holds it, so that a revision reported for the
// folder's content can say it is not all committed ("-dirty"). It reads
// the repository with go-git and never runs git.
package gitstatus

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
)

// Changes returns the files under dir that differ from the commit the
// git checkout holding dir is at: modified, added, deleted, renamed or
// untracked, staged or not, as slash-separated paths relative to dir,
// sorted. It returns nil when dir is in no checkout.
//
// go-git reads the worktree's status (the index, HEAD's tree and every
// file of the checkout): no git program is run. It is the
// spec.LoaderOptions.CheckoutChanges of the agent.
func Changes(dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open the git checkout of %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("the git checkout of %s: %w", dir, err)
	}
	st, err := wt.Status()
	if err != nil {
		return nil, fmt.Errorf("the git status of %s: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	prefix, err := filepath.Rel(root, real)
	if err != nil || prefix == ".." || strings.HasPrefix(prefix, ".."+string(filepath.Separator)) {
		return nil, nil
	}
	prefix = filepath.ToSlash(prefix)
	var out []string
	for p, fs := range st {
		if fs.Staging == git.Unmodified && fs.Worktree == git.Unmodified {
			continue
		}
		rel := p
		if prefix != "." {
			var ok bool
			if rel, ok = strings.CutPrefix(p, prefix+"/"); !ok {
				continue
			}
		}
		out = append(out, rel)
	}
	slices.Sort(out)
	return out, nil
}
