// Package dockerref names images the way Docker's reference store does, so
// that the hcs driver and its test fixtures find them under the same keys.
package dockerref

import (
	"fmt"
	"strings"
)

// Keys returns the keys repositories.json files ref under: Docker's
// familiar name (docker.io/library/ dropped) and the familiar reference
// with a tag (latest by default) or digest.
func Keys(ref string) (name, key string, err error) {
	if ref == "" || strings.ContainsAny(ref, " \t\r\n") {
		return "", "", fmt.Errorf("image reference %q is not valid", ref)
	}
	rest, digest, _ := strings.Cut(ref, "@")
	tag := ""
	// The tag follows the last ':' after the last '/'; an earlier ':'
	// belongs to the registry's port.
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		rest, tag = rest[:i], rest[i+1:]
	}
	registry := ""
	if first, path, ok := strings.Cut(rest, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		registry, rest = first, path
	}
	switch registry {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io":
		name = strings.TrimPrefix(rest, "library/")
	default:
		name = registry + "/" + rest
	}
	switch {
	case digest != "":
		key = name + "@" + digest
	case tag != "":
		key = name + ":" + tag
	default:
		key = name + ":latest"
	}
	return name, key, nil
}
