//go:build unix

package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestValidateNeverHangsOnAPipe names a named pipe directly and puts one
// in a folder: validate reports both and returns.
func TestValidateNeverHangsOnAPipe(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "web.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{fifo}, {dir}, {"--format", "json", fifo}} {
		done := make(chan string, 1)
		go func() {
			var out, errOut bytes.Buffer
			code := runValidate(args, &out, &errOut)
			done <- strings.Join([]string{string(rune('0' + code)), out.String()}, " ")
		}()
		select {
		case got := <-done:
			if !strings.HasPrefix(got, "1 ") || !strings.Contains(got, "named pipe") {
				t.Errorf("validate %v = %q, want exit 1 and the pipe reported", args, got)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("validate %v hung on a named pipe", args)
		}
	}
}
