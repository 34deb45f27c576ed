package testutil

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
)

// BuildAgent builds the isoagent command of the module the test runs in
// into folder dir and returns the binary's path, so that a test can run
// the agent as an operator would, as a process of its own. It uses the go
// command on PATH (go test puts its own first).
func BuildAgent(dir string) (string, error) {
	bin := filepath.Join(dir, "isoagent")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", bin, "github.com/isoagent/isoagent/cmd/isoagent").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/isoagent: %w\n%s", err, out)
	}
	return bin, nil
}
