package daemon

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/unitgen"
)

// checkHost checks the choices against the host, which unitgen (pure)
// cannot: every volume's host directory exists and, symlinks resolved,
// lies in an allowed root (or the shares root) and passes unitgen's path
// rules again; every device is a device node.
func (m *Manager) checkHost(ch model.Choices) error {
	var probs []string
	for _, cname := range slices.Sorted(maps.Keys(ch.Containers)) {
		cc := ch.Containers[cname]
		for _, p := range slices.Sorted(maps.Keys(cc.Volumes)) {
			host, err := unitgen.HostPath(cc.Volumes[p], m.cfg.Volumes.SharesRoot)
			if err != nil {
				probs = append(probs, fmt.Sprintf("containers.%s.volumes.%q: %v", cname, p, err))
				continue
			}
			if err := unitgen.CheckVolumeDir(host, m.cfg.Volumes.SharesRoot, m.cfg.Volumes.AllowedRoots); err != nil {
				probs = append(probs, fmt.Sprintf("containers.%s.volumes.%q: %v", cname, p, err))
			}
		}
		for _, d := range slices.Sorted(maps.Keys(cc.Devices)) {
			v := cc.Devices[d]
			if v == "" {
				continue
			}
			if why := checkDevice(v, "/dev"); why != "" {
				probs = append(probs, fmt.Sprintf("containers.%s.devices.%s: %s", cname, d, why))
			}
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", model.ErrInvalidArgs, strings.Join(probs, "; "))
	}
	return nil
}

// checkDevice checks a device choice on the host: a device node under /dev,
// or a directory under /dev of device nodes (like /dev/dri, which Plex
// asks for: the engines pass each node in it, as Rockstor's --device
// /dev/dri does). Never the nodes that reach host memory or I/O ports
// (/dev/mem, /dev/kmem, /dev/port, by device number, so a copy under
// another name is caught too), directly or inside a directory. It returns
// what is wrong, or "". devRoot is /dev (tests give another directory).
func checkDevice(v, devRoot string) string {
	real, err := filepath.EvalSymlinks(v)
	if err != nil {
		return v + " does not exist"
	}
	if !strings.HasPrefix(real, devRoot+"/") {
		return v + " is not a device node under /dev"
	}
	fi, err := os.Stat(real)
	if err != nil {
		return v + " does not exist"
	}
	if !fi.IsDir() {
		if fi.Mode()&fs.ModeDevice == 0 {
			return v + " is not a device node under /dev"
		}
		if memoryDevice(fi) {
			return v + " exposes host memory or I/O ports"
		}
		return ""
	}
	// The engines walk the directory and pass every node they find;
	// symbolic links (/dev/dri/by-path) and subdirectories are walked or
	// skipped by them the same way, so every node is checked here.
	nodes := 0
	var bad []string
	err = filepath.WalkDir(real, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() || de.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeDevice == 0:
			bad = append(bad, p+" is not a device node")
		case memoryDevice(fi):
			bad = append(bad, p+" exposes host memory or I/O ports")
		default:
			nodes++
		}
		return nil
	})
	switch {
	case err != nil:
		return fmt.Sprintf("reading directory %s: %v", v, err)
	case len(bad) > 0:
		return fmt.Sprintf("directory %s: %s", v, strings.Join(bad, ", "))
	case nodes == 0:
		return fmt.Sprintf("directory %s has no device node", v)
	}
	return ""
}

// memoryDevice reports whether a node is the character device of
// /dev/mem (1:1), /dev/kmem (1:2) or /dev/port (1:4).
func memoryDevice(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	dev := uint64(st.Rdev)
	major, minor := unix.Major(dev), unix.Minor(dev)
	return major == 1 && (minor == 1 || minor == 2 || minor == 4)
}
