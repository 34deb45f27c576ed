package testutil

import (
	"runtime"
	"testing"
)

// TestUnderWineAgreesWithTheRegistry checks UnderWine against a second,
// independent sign of Wine: its registry key (see wineKey).
func TestUnderWineAgreesWithTheRegistry(t *testing.T) {
	if runtime.GOOS != "windows" {
		if UnderWine() {
			t.Fatal("UnderWine off Windows")
		}
		return
	}
	if got, want := UnderWine(), wineKey(); got != want {
		t.Errorf("UnderWine() = %v, but the registry says %v", got, want)
	}
}
