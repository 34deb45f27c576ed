// Package gitverify applies only signed revisions of a git checkout: the
// agent's --verify-signatures mode.
//
// A Keyring holds the public keys an administrator allows (OpenPGP key
// blocks and SSH public keys, in one file that lives outside the spec
// folder). Keyring.Verify checks a commit's signature, OpenPGP or SSH
// (git's sshsig format, namespace "git"), over the commit's content as git
// signs it, and returns who signed it or a *RefusalError saying why the
// revision is refused: unsigned, signed by a key not on the list, or
// carrying a signature that does not verify.
//
// Head finds the commit a spec folder's checkout is at, a plain checkout
// or a git-sync worktree published through a symbolic link, and gives the
// folder's content as that commit's tree (an fs.FS), so that what is read
// is what was signed: changes in the working tree never count.
//
// Loader puts the two together for the spec folder watcher: it reads the
// folder's specs from the verified commit's tree (spec.Loader.LoadFS), and
// while the checkout is at a refused revision it keeps serving the last
// verified one, reporting each refused revision once.
//
// Git objects, packfiles included, are read by go-git; OpenPGP signatures
// are checked by ProtonMail's go-crypto and SSH signatures by
// github.com/hiddeco/sshsig, as Flux's source-controller does.
package gitverify
