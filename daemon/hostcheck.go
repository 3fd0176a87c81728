package daemon

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	api "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/unitgen"
)

// checkHost checks the choices against the host, which unitgen (pure)
// cannot: every volume's host directory exists and, symlinks resolved,
// lies in an allowed root (or the shares root) and passes unitgen's path
// rules again; every device is a device node.
func (m *Manager) checkHost(ch unitgen.Choices) error {
	var probs []string
	var cnames []string
	for c := range ch.Containers {
		cnames = append(cnames, c)
	}
	sort.Strings(cnames)
	for _, cname := range cnames {
		cc := ch.Containers[cname]
		var paths []string
		for p := range cc.Volumes {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			host, err := unitgen.HostPath(cc.Volumes[p], m.cfg.Volumes.SharesRoot)
			if err != nil {
				probs = append(probs, fmt.Sprintf("containers.%s.volumes.%q: %v", cname, p, err))
				continue
			}
			if err := unitgen.CheckVolumeDir(host, m.cfg.Volumes.SharesRoot, m.cfg.Volumes.AllowedRoots); err != nil {
				probs = append(probs, fmt.Sprintf("containers.%s.volumes.%q: %v", cname, p, err))
			}
		}
		var devs []string
		for d := range cc.Devices {
			devs = append(devs, d)
		}
		sort.Strings(devs)
		for _, d := range devs {
			v := cc.Devices[d]
			if v == "" {
				continue
			}
			real, err := filepath.EvalSymlinks(v)
			if err != nil {
				probs = append(probs, fmt.Sprintf("containers.%s.devices.%s: %s does not exist", cname, d, v))
				continue
			}
			fi, err := os.Stat(real)
			if err != nil || fi.Mode()&fs.ModeDevice == 0 || !strings.HasPrefix(real, "/dev/") {
				probs = append(probs, fmt.Sprintf("containers.%s.devices.%s: %s is not a device node under /dev", cname, d, v))
			}
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", api.ErrInvalidArgs, strings.Join(probs, "; "))
	}
	return nil
}
