package spec

import "golang.org/x/sys/windows/registry"

// underWine reports whether the test runs under Wine rather than Windows,
// for the cases Wine cannot act out.
func underWine() bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `Software\Wine`, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	k.Close()
	return true
}
