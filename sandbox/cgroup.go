package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// cgroupDirs returns, for every cgroup hierarchy this process is in, the directory of its
// current cgroup. mountinfo and self are the contents of /proc/self/mountinfo and
// /proc/self/cgroup. Hierarchies that are not mounted are left out.
func cgroupDirs(mountinfo, self string) ([]string, error) {
	type mount struct {
		dir, root string
		opts      []string
		v2        bool
	}
	var mounts []mount
	for line := range strings.Lines(mountinfo) {
		pre, post, ok := strings.Cut(strings.TrimSpace(line), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		mounts = append(mounts, mount{dir: f[4], root: f[3], opts: strings.Split(g[2], ","), v2: g[0] == "cgroup2"})
	}
	var dirs []string
	for line := range strings.Lines(self) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		var ctrls []string
		if parts[1] != "" {
			ctrls = strings.Split(parts[1], ",")
		}
		for _, m := range mounts {
			if m.v2 != (len(ctrls) == 0) {
				continue
			}
			if !m.v2 && slices.ContainsFunc(ctrls, func(c string) bool { return !slices.Contains(m.opts, c) }) {
				continue
			}
			rel, err := filepath.Rel(m.root, parts[2])
			if err != nil || strings.HasPrefix(rel, "..") {
				return nil, fmt.Errorf("cgroup %q is outside the mount %s", parts[2], m.dir)
			}
			dirs = append(dirs, filepath.Join(m.dir, rel))
			break
		}
	}
	if len(dirs) == 0 {
		return nil, errors.New("no mounted cgroup hierarchy found")
	}
	return dirs, nil
}

// makeCgroups creates a child cgroup called name below each of this process's cgroups.
func makeCgroups(name string) ([]string, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	parents, err := cgroupDirs(string(mi), string(self))
	if err != nil {
		return nil, err
	}
	var made []string
	for _, p := range parents {
		d := filepath.Join(p, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			removeCgroups(made)
			return nil, fmt.Errorf("creating cgroup: %w", err)
		}
		made = append(made, d)
	}
	return made, nil
}

// cgroupProcs lists the processes left in the cgroup trees rooted at dirs.
func cgroupProcs(dirs []string) []int {
	var pids []int
	for _, root := range dirs {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			if err != nil {
				return nil
			}
			for f := range strings.FieldsSeq(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && !slices.Contains(pids, pid) {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// removeCgroups removes the cgroup trees rooted at dirs, children first. Cgroup
// directories only go away once no process is left in them.
func removeCgroups(dirs []string) error {
	var errs []error
	for _, root := range dirs {
		var all []string
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				all = append(all, p)
			}
			return nil
		})
		for _, d := range slices.Backward(all) {
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("removing cgroup: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// nsProcs lists the processes whose PID namespace is ns (as read from /proc/PID/ns/pid).
func nsProcs(ns string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && l == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}

// describeProcs formats pids with their command names for error messages.
func describeProcs(pids []int) string {
	var b strings.Builder
	for _, pid := range pids {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		fmt.Fprintf(&b, " %d(%s)", pid, strings.TrimSpace(string(comm)))
	}
	return strings.TrimSpace(b.String())
}
