package driver

import (
	"strings"
	"testing"
)

func TestParseSKU(t *testing.T) {
	for _, k := range SKUs() {
		if got, err := ParseSKU(string(k)); got != k || err != nil {
			t.Errorf("ParseSKU(%q) = %q, %v", k, got, err)
		}
	}
	for _, s := range []string{"", "desktop", "Server"} {
		if _, err := ParseSKU(s); err == nil || !strings.Contains(err.Error(), "want server or client") {
			t.Errorf("ParseSKU(%q) = %v, want an error listing the SKUs", s, err)
		}
	}
}
