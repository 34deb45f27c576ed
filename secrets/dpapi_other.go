//go:build !windows

package secrets

import "errors"

func unprotect([]byte) ([]byte, error) {
	return nil, errors.New("it is protected with DPAPI, which only Windows can unprotect")
}
