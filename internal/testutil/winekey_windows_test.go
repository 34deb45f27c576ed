package testutil

import "golang.org/x/sys/windows/registry"

// wineKey reports whether the registry has Wine's own key.
func wineKey() bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `Software\Wine`, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	k.Close()
	return true
}
