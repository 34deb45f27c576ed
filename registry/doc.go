// Package registry is isoagent's side of container registries, built on
// go-containerregistry (its remote, authn, name and platform types):
//
//   - Resolve tells which image a reference names for a Windows host
//     before anything is downloaded: for a manifest list, the windows/amd64
//     entry whose os.version the host runs best, by winbuild.Choose, the
//     rule admission applies; for a single manifest, its config's
//     os.version. Manifests are cached by digest, which never changes what
//     it names; a tag costs one HEAD request each time it is resolved.
//   - Fetch downloads an image's config and layers into a folder of blobs,
//     each checked against its digest, reporting every byte to a progress
//     function; blobs already there are not fetched again, so a pull that
//     failed resumes from the last whole layer. Layers are handed to a
//     driver as uncompressed streams whose Close refuses one that is not
//     what the image's config says.
//   - Credentials come from the agent's registries file (Config) and from
//     Docker's config.json, its credential helpers (credsStore,
//     credHelpers: docker-credential-wincred and the like) included.
//   - A registry may have mirrors, tried in order before it; TLS trusts
//     the system's roots and the CAs configured for the registry; plain
//     HTTP is refused to every registry not listed as insecure.
//
// Errors carry a class (ErrNotFound, ErrUnauthorized, ErrUnavailable,
// ErrNoVariant, ErrDigestMismatch, ErrInvalid; Reason names it for
// metrics) and the registry's own message. No error, log line or value
// of this package holds a password or token.
package registry
