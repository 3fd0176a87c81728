package unitgen

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/rockon/rockon/model"
)

// Resource limits (model.ContainerChoices.Memory and CPUs) are systemd's: the
// app's processes are inside the container's unit (podman,
// --cgroups=split) or the container's slice (docker, --cgroup-parent), so
// MemoryMax= and CPUQuota= reach them, and systemd accounts for them.
// The engine is given the same limits for the container's own cgroup:
// where systemd does not manage a controller (a cgroup v1 host whose
// memory hierarchy is delegated elsewhere, as in containers), the
// engine's runtime still writes it, so the limit holds either way.

var memoryRE = regexp.MustCompile(`^([1-9][0-9]{0,12})([KMGT]?)$`)

// memoryBytes parses a memory limit: a number of bytes with an optional
// K, M, G or T suffix (powers of 1024), as systemd's MemoryMax= takes it.
func memoryBytes(v string) (int64, error) {
	m := memoryRE.FindStringSubmatch(v)
	if m == nil {
		return 0, fmt.Errorf("memory limit %q must be a size such as 512M or 2G (K, M, G, T: powers of 1024)", v)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	shift := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m[2]]
	if n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("memory limit %q is too large", v)
	}
	b := n << shift
	if b < 4<<20 {
		return 0, fmt.Errorf("memory limit %q is below 4M, too little for any container", v)
	}
	return b, nil
}

// cpuQuota turns a number of CPUs ("1.5") into systemd's CPUQuota= ("150%").
func cpuQuota(v string) (string, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || f < 0.01 || f > 4096 {
		return "", fmt.Errorf("CPU limit %q must be a number of CPUs between 0.01 and 4096, e.g. 1.5", v)
	}
	return strconv.FormatInt(int64(math.Round(f*100)), 10) + "%", nil
}

// engineLimitArgs are the engine flags carrying the container's limits
// (validated earlier): the memory in bytes, so that no suffix is read
// differently by podman, docker and systemd.
func engineLimitArgs(cc model.ContainerChoices) []string {
	var args []string
	if cc.Memory != "" {
		b, _ := memoryBytes(cc.Memory)
		args = append(args, "--memory", strconv.FormatInt(b, 10))
	}
	if cc.CPUs != "" {
		args = append(args, "--cpus", strings.TrimSpace(cc.CPUs))
	}
	return args
}

// sliceUnit is the slice a docker container's processes run in. A dash in
// a slice's name is a level of systemd's slice tree ("a-b.slice" is inside
// "a.slice", which systemd makes and keeps active), so after "rockon-" the
// name has none: every rock-on's slice sits in rockon.slice, and none
// leaves a chain of parent slices behind when it is gone. Slugs have no
// underscores; the double one keeps the rock-on apart from the container.
func sliceUnit(slug, cslug string) string {
	return SlicePrefix(slug) + strings.ReplaceAll(cslug, "-", "_") + ".slice"
}

// SlicePrefix starts the names of a rock-on's slices.
func SlicePrefix(slug string) string {
	return "rockon-" + strings.ReplaceAll(slug, "-", "_") + "__"
}

// limitLines writes the container's limits into a [Service] or [Slice].
func (g *generator) limitLines(s *section, cc model.ContainerChoices) {
	if cc.Memory != "" {
		s.raw("MemoryMax", cc.Memory)
	}
	if cc.CPUs != "" {
		q, _ := cpuQuota(cc.CPUs) // validated
		s.raw("CPUQuota", q)
	}
}

// sliceUnitFile is the docker container's slice: docker puts the
// container's scope in it (--cgroup-parent with the systemd cgroup
// driver), so the limits and systemd's accounting cover the app.
func (g *generator) sliceUnitFile(p *ctrPlan) *unitFile {
	name := sliceUnit(g.slug, model.Slug(p.c.Name))
	u := &unitFile{comments: header(name)}
	s := g.commonUnit(u, "Rock-on "+g.def.Name+": processes of container "+p.c.Name)
	s.raw(OwnershipKey+"-Container", p.c.Name)
	g.limitLines(u.section("Slice"), g.ch.Containers[p.c.Name])
	return u
}
