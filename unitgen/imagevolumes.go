package unitgen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// VolumeLabel is the label rockon's units put on the named volumes they
// create for image-declared VOLUMEs (value: the rock-on's slug), so that a
// listing of the engine's volumes tells whose they are.
const VolumeLabel = "org.rockon.rockon"

// NamedVolume is an engine volume a rock-on's units create for a VOLUME its
// image declares and its definition does not map (see Options.ImageVolumes).
type NamedVolume struct {
	Name      string // engine volume name, rockon-<slug>-<container-slug>-<path-slug>
	Container string // the container that mounts it
	Path      string // where, inside the container
}

// mappedPaths returns the container paths a container's opts already give
// a mount: -v/--volume destinations, --mount targets and --tmpfs paths.
func mappedPaths(c *catalog.Container) []string {
	var out []string
	for _, o := range containerOpts(c) {
		switch o.Flag {
		case "--volume":
			parts := strings.Split(o.Value, ":")
			if len(parts) >= 2 {
				out = append(out, path.Clean(parts[1]))
			} else if parts[0] != "" {
				out = append(out, path.Clean(parts[0])) // an anonymous volume
			}
		case "--mount":
			for _, kv := range strings.Split(o.Value, ",") {
				k, v, _ := strings.Cut(kv, "=")
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "target", "dst", "destination":
					out = append(out, path.Clean(v))
				}
			}
		case "--tmpfs":
			p, _, _ := strings.Cut(o.Value, ":")
			out = append(out, path.Clean(p))
		}
	}
	return out
}

// volumesFrom returns the containers a container takes volumes from.
func volumesFrom(c *catalog.Container) []string {
	var out []string
	for _, o := range containerOpts(c) {
		if o.Flag == "--volumes-from" {
			for _, v := range strings.Split(o.Value, ",") {
				src, _, _ := strings.Cut(v, ":")
				out = append(out, src)
			}
		}
	}
	return out
}

// imageVolumePaths returns, clean and once each, the VOLUMEs the image of
// container name declares (Options.ImageVolumes), skipping with a warning
// what no engine -v can carry.
func (g *generator) imageVolumePaths(name string) []string {
	var out []string
	for _, p := range g.opt.ImageVolumes[name] {
		if !strings.HasPrefix(p, "/") || checkPathChars(p) != "" {
			g.warn("container %q: the image's VOLUME %q cannot be mapped (not a plain absolute path); its content is lost when the container stops", name, p)
			continue
		}
		p = path.Clean(p)
		if p == "/" || slices.Contains(out, p) {
			continue
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// planImageVolumes decides the named volumes of a container: one for every
// VOLUME its image declares that nothing else mounts exactly (the
// definition's volumes, the user's extra volumes, its opts, and the volumes
// of a container it takes them from). Without one the engine would make
// an anonymous volume, removed with the container at every stop (units
// run with --rm): a VOLUME nested under a mapped path (mongo's /data/db
// under /data) would be wiped as surely as one not mapped at all.
func (g *generator) planImageVolumes(p *ctrPlan, mapped []string, taken map[string]bool) ([]NamedVolume, error) {
	if p.data {
		return nil, nil // kept with its anonymous volumes (IsDataContainer)
	}
	declared := g.imageVolumePaths(p.c.Name)
	if len(declared) == 0 {
		return nil, nil
	}
	mapped = append(slices.Clone(mapped), mappedPaths(p.c)...)
	for i := range mapped {
		mapped[i] = path.Clean(mapped[i])
	}
	for _, src := range volumesFrom(p.c) {
		o := g.ctr(src)
		if o == nil {
			g.warn("container %q takes volumes from %q, which is not part of the rock-on: the image's VOLUMEs %s are left to the engine", p.c.Name, src, strings.Join(declared, ", "))
			return nil, nil
		}
		for _, v := range o.c.Volumes {
			mapped = append(mapped, path.Clean(v.Path))
		}
		mapped = append(mapped, mappedPaths(o.c)...)
		mapped = append(mapped, g.imageVolumePaths(src)...)
	}
	cslug := model.Slug(p.c.Name)
	var out []NamedVolume
	for _, d := range declared {
		if slices.Contains(mapped, d) {
			continue
		}
		name := "rockon-" + g.slug + "-" + cslug + "-" + model.Slug(d)
		if model.Slug(d) == "" || len(name) > 128 || taken[name] {
			// a path of symbols only, a very long one, or two paths with
			// the same slug (/a-b and /a/b): the path's hash keeps the
			// name stable and unique
			sum := sha256.Sum256([]byte(p.c.Name + "\x00" + d))
			name = "rockon-" + g.slug + "-" + cslug + "-" + hex.EncodeToString(sum[:6])
		}
		if taken[name] {
			return nil, fmt.Errorf("image VOLUME %q: volume name %s is used twice", d, name)
		}
		taken[name] = true
		out = append(out, NamedVolume{Name: name, Container: p.c.Name, Path: d})
	}
	return out, nil
}

// createVolumes adds, before the container's start, the commands that
// create its named volumes with rockon's label. A volume that exists
// already is kept as it is (podman refuses to create it again: "-"
// ignores that; docker returns the existing one).
func (g *generator) createVolumes(p *ctrPlan, ex func(key, prefix string, argv ...string) error) error {
	for _, nv := range p.named {
		if err := ex("ExecStartPre", "-", g.opt.EngineBinary, "volume", "create", "--label", VolumeLabel+"="+g.slug, nv.Name); err != nil {
			return err
		}
	}
	return nil
}
