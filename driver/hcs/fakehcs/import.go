//go:build windows && cgo

package main

import "C"

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/Microsoft/go-winio"
)

// Layer import, as hcsshim's internal/wclayer calls it. ociwclayer's
// ImportLayerFromTar writes a base layer straight into its folder with
// BackupWrite and then calls ProcessBaseImage (and ProcessUtilityImage for
// a UtilityVM folder); a layer above a base it stages in a temporary
// folder, in the legacy transport format, and hands to ImportLayer, which
// writes it into the layer folder. Read-only layers are not in the storage
// filter's table: only a container's scratch layer is, from
// CreateSandboxLayer to DestroyLayer.

// dirMarker ends the name of the staged file that carries a folder's
// attributes (the folder itself is staged beside it).
const dirMarker = ".$wcidirs$"

//export ImportLayer
func ImportLayer(info unsafe.Pointer, id *uint16, source *uint16, descs unsafe.Pointer, n uint32) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, nil)
	}
	path, src, parents := str(id), str(source), descriptorPaths(descs, n)
	b, _ := json.Marshal(map[string]any{"path": path, "source": src, "parents": parents})
	h.record("ImportLayer", "", string(b))
	if f := h.fault("import"); f != nil {
		return result(f, nil)
	}
	return result(importLayer(path, src, parents), nil)
}

// importLayer writes the layer staged in src into the layer folder path,
// over parents (nearest first). In src, Files\ holds each file as its
// attributes (4 bytes, little-endian) and a Win32 backup stream, and each
// folder as a folder and a dirMarker file; Hives\ holds the registry
// deltas as BackupWrite wrote them. The fake keeps the files' data
// streams; attributes, security descriptors and alternate streams it
// reads past, and a hive delta it copies as it is (HCS merges it).
func importLayer(path, src string, parents []string) error {
	switch {
	case !filepath.IsAbs(path):
		return fail(eInvalidArg, "The parameter is incorrect. (layer path %s is not absolute)", path)
	case len(parents) == 0:
		return fail(eInvalidArg, "The parameter is incorrect. (ImportLayer needs the parent layers; a base layer is processed with ProcessBaseImage)")
	}
	for _, p := range parents {
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			return fail(ePathNotFound, "The system cannot find the path specified. (parent layer %s)", p)
		}
	}
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return fail(ePathNotFound, "The system cannot find the path specified. (import folder %s)", src)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		top, _, _ := strings.Cut(strings.TrimSuffix(rel, dirMarker), string(filepath.Separator))
		files := strings.EqualFold(top, "Files")
		if !files && !strings.EqualFold(top, "Hives") {
			return fail(eInvalidArg, "The parameter is incorrect. (%s in the import folder is neither under Files nor under Hives)", rel)
		}
		dest := filepath.Join(path, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dest, 0o755)
		case strings.HasSuffix(rel, dirMarker):
			if files {
				if _, err := readAttributes(p, rel); err != nil {
					return err
				}
			}
			return os.MkdirAll(strings.TrimSuffix(dest, dirMarker), 0o755)
		case !files:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(dest, b, 0o644)
		}
		stream, err := readAttributes(p, rel)
		if err != nil {
			return err
		}
		var data bytes.Buffer
		br := winio.NewBackupStreamReader(bytes.NewReader(stream))
		for {
			hdr, err := br.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fail(eInvalidArg, "The parameter is incorrect. (%s in the import folder is not a backup stream: %v)", rel, err)
			}
			if hdr.Id != winio.BackupData {
				continue
			}
			if _, err := io.Copy(&data, br); err != nil {
				return fail(eInvalidArg, "The parameter is incorrect. (%s in the import folder: %v)", rel, err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dest, data.Bytes(), 0o644)
	})
}

// readAttributes reads the staged file p (rel in the import folder) and
// returns what follows its attributes (4 bytes).
func readAttributes(p, rel string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if len(b) < 4 {
		return nil, fail(eInvalidArg, "The parameter is incorrect. (%s in the import folder has no attributes)", rel)
	}
	return b[4:], nil
}

//export ProcessBaseImage
func ProcessBaseImage(path *uint16) uintptr {
	return result(processImage("ProcessBaseImage", str(path), "Files"), nil)
}

//export ProcessUtilityImage
func ProcessUtilityImage(path *uint16) uintptr {
	// The utility VM boots from its BCD store.
	return result(processImage("ProcessUtilityImage", str(path), `Files\EFI\Microsoft\Boot\BCD`), nil)
}

// processImage checks that the image folder path, just unpacked, holds
// need: HCS processes the image from it (the fake has nothing to make of
// it).
func processImage(call, path, need string) error {
	h, err := currentHost()
	if err != nil {
		return err
	}
	b, _ := json.Marshal(map[string]any{"path": path})
	h.record(call, "", string(b))
	if !filepath.IsAbs(path) {
		return fail(eInvalidArg, "The parameter is incorrect. (image path %s is not absolute)", path)
	}
	if _, err := os.Stat(filepath.Join(path, need)); err != nil {
		return fail(ePathNotFound, "The system cannot find the path specified. (%s has no %s)", path, need)
	}
	return nil
}
