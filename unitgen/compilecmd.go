package unitgen

// Helpers for `rockon compile` and the daemon that read the filesystem or the
// host's user database, unlike the rest of the package; writing what Compile
// returns is its callers' (the daemon, `rockon compile --out`).

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// HostOptions are options for this host: h (rockond.toml's, or the
// engine alone offline) with the engine's defaults, the owner of a path
// from stat(2), and the docker group from the group database.
func HostOptions(h model.Host) Options {
	return Options{Host: h, PathOwner: StatOwner, DockerGID: DockerGroupID}.withDefaults()
}

// StatOwner returns the owner and group of path.
func StatOwner(path string) (int, int, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("%s: no owner information", path)
	}
	return int(st.Uid), int(st.Gid), nil
}

// DockerGroupID returns the id of the host's docker group.
func DockerGroupID() (int, error) {
	g, err := user.LookupGroup("docker")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

// CompileSamples compiles every definition with SampleChoices and
// SampleOptions (`rockon compile --all --sample`), recording failures and
// going on.
func CompileSamples(defs []*catalog.RockOn, engine, sampleRoot string) ([]*Result, error) {
	var out []*Result
	var errs []error
	for _, d := range defs {
		res, err := Compile(d, SampleChoices(d, sampleRoot), SampleOptions(engine))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, res)
	}
	return out, errors.Join(errs...)
}

// VolumeCheckPrefix begins each line `rockond check-volumes` prints for a
// refused path; the daemon looks for it in a failed unit's journal.
const VolumeCheckPrefix = "rockon volume check:"

// CheckVolumeDir checks a volume's host directory on disk, which the pure
// rules of HostPath cannot: it exists, is a directory, and, every symlink
// on the way resolved, still passes HostPath's rules and lies in the shares
// root or an allowed root. The daemon runs it at install and every unit
// runs it again before each start (`rockond check-volumes`, see
// Options.VolumeCheck): a directory a local user owns inside a share may
// have become a symlink to /etc since.
func CheckVolumeDir(host, sharesRoot string, allowedRoots []string) error {
	real, err := filepath.EvalSymlinks(host)
	if err != nil {
		return fmt.Errorf("host path %s does not exist (create it first)", host)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return fmt.Errorf("host path %s is not a directory", host)
	}
	if _, err := HostPath(real, sharesRoot); err != nil {
		return fmt.Errorf("%s resolves to %s: %v", host, real, err)
	}
	roots := append([]string{sharesRoot}, allowedRoots...)
	for _, r := range roots {
		if r == "" {
			continue
		}
		r = filepath.Clean(r)
		if real == r || strings.HasPrefix(real, r+"/") {
			return nil
		}
	}
	if real != host {
		return fmt.Errorf("%s resolves to %s, outside the allowed roots (%s)", host, real, strings.Join(roots, ", "))
	}
	return fmt.Errorf("host path %s is outside the allowed roots (%s)", real, strings.Join(roots, ", "))
}
