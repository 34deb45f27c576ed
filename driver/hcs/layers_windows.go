//go:build windows

package hcs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"

	"github.com/Microsoft/hcsshim"
	"golang.org/x/sys/windows"
)

// Scratch layers, as moby's windowsfilter graph driver and hcsshim's
// internal/layers handle them.

// DefaultScratchSize is the size a container's scratch disk grows to:
// Docker's default, 127 GB, the default size of a Hyper-V VHD
// (daemon/graphdriver/windows). CreateScratchLayer alone makes a 20 GB
// one.
const DefaultScratchSize = 127 << 30

// Retries of the storage filter's transient failures (hcsshim's
// mountProcessIsolatedWCIFSLayers).
const (
	mountTries = 5
	mountPause = 100 * time.Millisecond
)

// createScratch makes the scratch layer of rec over its image layers and
// grows it to the driver's scratch size. A scratch a crash left first goes.
func (d *Driver) createScratch(rec *record) error {
	id, di := rec.Config.ID, hcsshim.DriverInfo{}
	if err := os.MkdirAll(filepath.Dir(rec.Scratch), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", id, err)
	}
	if _, err := os.Stat(rec.Scratch); err == nil {
		if err := hcsshim.DestroyLayer(di, rec.Scratch); err != nil {
			return hcsError("remove the stale scratch layer of", id, err)
		}
	}
	if err := hcsshim.CreateScratchLayer(di, rec.Scratch, "", rec.Layers); err != nil {
		return hcsError("create the scratch layer of", id, err)
	}
	if d.scratchSize > 0 {
		if err := expandSandboxSize(rec.Scratch, d.scratchSize); err != nil {
			err = hcsError("grow the scratch layer of", id, err)
			return errors.Join(err, destroyScratch(rec))
		}
	}
	return nil
}

// expandSandboxSize grows the scratch disk of layer folder path to size
// bytes with vmcompute.dll's ExpandSandboxSize, the call moby's
// ExpandSandboxSize makes. hcsshim v0.15's ExpandScratchSize makes it too
// and then attaches the disk through virtdisk.dll to extend the volume on
// it, a step hcsshim added for the bugs of Windows 10 19H1 and for CimFS
// layers; hcsshim before that (v0.9) made the call alone on builds 17763
// and 20348 and later, where PrepareLayer extends the volume of a legacy
// layer itself.
func expandSandboxSize(path string, size uint64) error {
	proc := windows.NewLazySystemDLL("vmcompute.dll").NewProc("ExpandSandboxSize")
	if err := proc.Find(); err != nil {
		return err
	}
	id, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	// WC_DRIVER_INFO with an empty home folder: path is absolute.
	var empty uint16
	info := struct {
		Flavour  int
		HomeDirp *uint16
	}{1, &empty}
	r, _, _ := proc.Call(uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(id)), uintptr(size))
	if hr := uint32(r); int32(hr) < 0 {
		if hr&0x1fff0000 == 0x00070000 {
			hr &= 0xffff // facility Win32: the Win32 code, as hcsshim gives it
		}
		return fmt.Errorf("ExpandSandboxSize %s: %w", path, syscall.Errno(hr))
	}
	return nil
}

// destroyScratch destroys rec's scratch layer; one already gone is no
// error.
func destroyScratch(rec *record) error {
	if _, err := os.Stat(rec.Scratch); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := hcsshim.DestroyLayer(hcsshim.DriverInfo{}, rec.Scratch); err != nil && !stopped(err) {
		return hcsError("destroy the scratch layer of", rec.Config.ID, err)
	}
	return nil
}

// mount activates and prepares the scratch layer of rec and returns its
// volume path. The storage filter of Windows Server 2019 fails now and
// then with ERROR_NOT_READY or ERROR_DEVICE_NOT_CONNECTED; those are tried
// again, as hcsshim does. After a failed prepare the layer is only
// deactivated: it was never prepared.
func (d *Driver) mount(ctx context.Context, rec *record) (string, error) {
	id, di := rec.Config.ID, hcsshim.DriverInfo{}
	if rec.Mounted {
		// Mounted by a run the driver did not see end (a crash, a
		// reboot): start from a clean slate.
		if err := d.unmount(id); err != nil {
			return "", err
		}
	}
	var err error
	for try := 1; ; try++ {
		var again bool
		if again, err = d.mountOnce(id, rec); err == nil || !again || try == mountTries {
			break
		}
		d.log.Warn("the storage filter is not ready; trying again", "id", id, "try", try, "err", err)
		t := time.NewTimer(mountPause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", errors.Join(err, ctx.Err())
		}
	}
	if err != nil {
		return "", err
	}
	vol, err := hcsshim.GetLayerMountPath(di, rec.Scratch)
	if err != nil {
		return "", errors.Join(hcsError("mount path of scratch of", id, err), d.unmount(id))
	}
	return vol, nil
}

// mountOnce activates and prepares the scratch of rec once; again reports
// a failure worth trying again.
func (d *Driver) mountOnce(id string, rec *record) (again bool, err error) {
	di := hcsshim.DriverInfo{}
	if err := hcsshim.ActivateLayer(di, rec.Scratch); err != nil {
		return isNotReady(err), hcsError("activate scratch of", id, err)
	}
	if err := d.update(id, func(r *record) { r.Mounted = true }); err != nil {
		hcsshim.DeactivateLayer(di, rec.Scratch)
		return false, err
	}
	if perr := hcsshim.PrepareLayer(di, rec.Scratch, rec.Layers); perr != nil {
		err := hcsError("prepare scratch of", id, perr)
		if derr := hcsshim.DeactivateLayer(di, rec.Scratch); derr != nil {
			return false, errors.Join(err, hcsError("deactivate scratch of", id, derr))
		}
		return isNotReady(perr), errors.Join(err, d.update(id, func(r *record) { r.Mounted = false }))
	}
	return false, nil
}

// unmount undoes mount, if the record says the scratch is mounted. The
// storage filter forgets every layer when the host restarts, and then both
// steps fail: the flag is stale and is cleared. Only a layer that was
// unprepared but cannot be deactivated is an error, since it still holds
// the scratch.
func (d *Driver) unmount(id string) error {
	d.recMu.Lock()
	defer d.recMu.Unlock()
	rec, err := d.records.get(id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !rec.Mounted {
		return nil
	}
	di := hcsshim.DriverInfo{}
	uerr := hcsshim.UnprepareLayer(di, rec.Scratch)
	derr := hcsshim.DeactivateLayer(di, rec.Scratch)
	switch {
	case uerr == nil && derr != nil:
		return hcsError("deactivate scratch of", id, derr)
	case uerr != nil && derr != nil:
		d.log.Warn("the storage filter does not hold the scratch layer the record says is mounted (after a restart of the host it holds none); clearing the flag",
			"id", id, "unprepare", uerr, "deactivate", derr)
	}
	rec.Mounted = false
	return d.records.put(rec)
}

// layersPresent reports whether every read-only layer folder of rec is
// still there: `docker image prune` (and `docker rmi`) removes layers
// that only isoagent's containers use.
func layersPresent(rec *record) bool {
	for _, l := range rec.Layers {
		if fi, err := os.Stat(l); err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}
