package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/engine"
	"github.com/rockon/rockon/metrics"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
)

// Where the package installs the bus policy and the polkit actions; a
// local administrator's copy under /etc counts as well.
var (
	busPolicyFiles = []string{"/usr/share/dbus-1/system.d/org.rockon.rockon1.conf", "/etc/dbus-1/system.d/org.rockon.rockon1.conf"}
	polkitFiles    = []string{"/usr/share/polkit-1/actions/org.rockon.rockon1.policy"}
	polkitDaemons  = []string{"/usr/lib/polkit-1/polkitd", "/usr/libexec/polkitd"}
)

const configHint = "in " + state.DefaultConfigPath

// Diagnose implements api.Backend: what a working set-up needs, checked by
// rockond itself so that every finding is what the confined daemon sees
// (its file system view, its capabilities, its network).
func (m *Manager) Diagnose(ctx context.Context) []model.Check {
	var out []model.Check
	add := func(name, status, detail, fix string) {
		if status == model.CheckOK {
			fix = ""
		}
		out = append(out, model.Check{Name: name, Status: status, Detail: detail, Fix: fix})
	}
	out = append(out, m.checkEngine(ctx)...)
	m.checkRegistries(ctx, add)
	m.checkRoots(add)
	m.checkCatalog(add)
	checkPolicy(add, m.cfg.DBus.Polkit)
	m.checkMetrics(add)
	out = append(out, m.checkRockOns()...)
	return out
}

func (m *Manager) checkEngine(ctx context.Context) []model.Check {
	e := m.cfg.Engine
	install := "apt install " + map[string]string{"docker": "docker.io", "podman": "podman"}[e.Name]
	fi, err := os.Stat(e.Binary)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		fix := install + ", or name the installed engine with [engine] name " + configHint + ", then: systemctl restart rockon"
		return []model.Check{
			{Name: "engine", Status: model.CheckFail, Detail: fmt.Sprintf("%s is not installed (%s: not an executable file)", e.Name, e.Binary), Fix: fix},
			{Name: "storage", Status: model.CheckFail, Detail: "not checked: no engine", Fix: "install the engine first"},
		}
	}
	root, err := m.eng.Storage(ctx)
	if err != nil {
		fix := "see the error; `" + e.Name + " info` as root shows the same"
		if e.Name == "docker" {
			fix = "start dockerd: systemctl enable --now docker"
		}
		if errors.Is(err, engine.ErrUnavailable) {
			fix = install
		}
		return []model.Check{
			{Name: "engine", Status: model.CheckFail, Detail: fmt.Sprintf("%s does not answer: %v", e.Name, firstLine(err.Error())), Fix: fix},
			{Name: "storage", Status: model.CheckFail, Detail: "not checked: the engine does not answer", Fix: "make the engine answer first"},
		}
	}
	checks := []model.Check{{Name: "engine", Status: model.CheckOK, Detail: fmt.Sprintf("%s (%s) answers", e.Name, e.Binary)}}
	if e.Name == "docker" {
		// dockerd writes its storage itself, outside rockon.service.
		return append(checks, model.Check{Name: "storage", Status: model.CheckOK, Detail: "kept by dockerd in " + root})
	}
	// podman writes its storage in rockond's own context: the unit's
	// ReadWritePaths must include it.
	f, err := os.CreateTemp(root, ".rockon-doctor-*")
	if err != nil {
		return append(checks, model.Check{Name: "storage", Status: model.CheckFail,
			Detail: fmt.Sprintf("podman's storage %s is not writable by rockond: %v", root, err),
			Fix:    "add it to rockond's unit: systemctl edit rockon, then [Service] ReadWritePaths=" + root})
	}
	f.Close()
	os.Remove(f.Name())
	return append(checks, model.Check{Name: "storage", Status: model.CheckOK, Detail: "podman's storage " + root + " is writable by rockond"})
}

// checkRegistries looks up the registries images come from, as rockond
// resolves names: Docker Hub (where a name without a registry host goes,
// catalog.QualifyImage) and the hosts of the installed rock-ons' images. A
// failed lookup is a warning: the images already pulled keep running.
func (m *Manager) checkRegistries(ctx context.Context, add func(name, status, detail, fix string)) {
	hosts := map[string]bool{catalog.DefaultRegistry: true}
	m.mu.Lock()
	for _, in := range m.installed {
		if d, err := definition(in.Name, in.Definition); err == nil {
			for _, c := range d.Containers {
				if !engine.LocalOnly(c.ImageRef()) {
					hosts[catalog.RegistryHost(c.ImageRef())] = true
				}
			}
		}
	}
	m.mu.Unlock()
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	var bad []string
	for _, h := range names {
		lookup := h
		if h == catalog.DefaultRegistry {
			lookup = "registry-1.docker.io" // where the engines send docker.io requests
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := net.DefaultResolver.LookupHost(lctx, lookup)
		cancel()
		if err != nil {
			bad = append(bad, lookup)
		}
	}
	if len(bad) > 0 {
		add("registries", model.CheckWarn, "cannot resolve "+strings.Join(bad, ", ")+": new images cannot be pulled (those present still run)",
			"check the host's DNS (/etc/resolv.conf) and network access to the registries, then: rockon doctor")
		return
	}
	add("registries", model.CheckOK, "names without a registry go to Docker Hub ("+catalog.DefaultRegistry+"); resolved: "+strings.Join(names, ", "), "")
}

func (m *Manager) checkRoots(add func(name, status, detail, fix string)) {
	dir := func(p string) error {
		fi, err := os.Stat(p)
		if err == nil && !fi.IsDir() {
			err = errors.New("not a directory")
		}
		return err
	}
	v := m.cfg.Volumes
	if err := dir(v.SharesRoot); err != nil {
		add("shares-root", model.CheckFail, fmt.Sprintf("shares root %s: %v", v.SharesRoot, errText(err)),
			fmt.Sprintf("mkdir -p %s, or set [volumes] shares_root %s", v.SharesRoot, configHint))
	} else {
		add("shares-root", model.CheckOK, "shares root "+v.SharesRoot+" exists", "")
	}
	var missing []string
	for _, r := range v.AllowedRoots {
		if err := dir(r); err != nil {
			missing = append(missing, r+": "+errText(err))
		}
	}
	switch {
	case len(v.AllowedRoots) == 0:
		add("allowed-roots", model.CheckWarn, "no allowed roots: only shares can be volumes", "list host directories in [volumes] allowed_roots "+configHint)
	case len(missing) > 0:
		add("allowed-roots", model.CheckFail, "allowed roots missing: "+strings.Join(missing, "; "),
			"create them, or change [volumes] allowed_roots "+configHint)
	default:
		add("allowed-roots", model.CheckOK, "allowed roots exist: "+strings.Join(v.AllowedRoots, ", "), "")
	}
}

func (m *Manager) checkCatalog(add func(name, status, detail, fix string)) {
	m.mu.Lock()
	n, at, rerr := m.catalog.Len(), m.refreshedAt, m.refreshErr
	m.mu.Unlock()
	src := m.cfg.Metastore.RemoteURL
	if src == "" {
		src = "local definitions only"
	}
	fix := "check that " + src + " is reachable from this host (or set [metastore] remote_url " + configHint + "), then: rockon catalog refresh"
	switch {
	case rerr != nil && n == 0:
		add("catalog", model.CheckFail, "no rock-ons: "+firstLine(rerr.Error()), fix)
	case rerr != nil:
		add("catalog", model.CheckWarn, fmt.Sprintf("%d rock-ons (local and last good copy); the last refresh failed: %s", n, firstLine(rerr.Error())), fix)
	case n == 0:
		add("catalog", model.CheckFail, "the catalog is empty ("+src+")", "rockon catalog refresh; add definitions to "+m.cfg.Metastore.LocalDir+" or set [metastore] remote_url "+configHint)
	case at.IsZero():
		add("catalog", model.CheckWarn, fmt.Sprintf("%d rock-ons from the cache; not refreshed since rockond started", n), "rockon catalog refresh")
	default:
		add("catalog", model.CheckOK, fmt.Sprintf("%d rock-ons, refreshed %s ago from %s", n, time.Since(at).Round(time.Second), src), "")
	}
}

func checkPolicy(add func(name, status, detail, fix string), polkit bool) {
	reinstall := "reinstall the package: apt install --reinstall rockon"
	if f := firstExisting(busPolicyFiles); f != "" {
		add("bus-policy", model.CheckOK, "bus policy "+f, "")
	} else {
		add("bus-policy", model.CheckFail, "no bus policy for org.rockon.rockon1 ("+strings.Join(busPolicyFiles, " or ")+")", reinstall)
	}
	if !polkit {
		add("polkit", model.CheckOK, "polkit off ([dbus] polkit = false): only root may change things", "")
		return
	}
	switch {
	case firstExisting(polkitFiles) == "":
		add("polkit", model.CheckFail, "no polkit actions for rockon ("+polkitFiles[0]+")", reinstall)
	case firstExisting(polkitDaemons) == "":
		add("polkit", model.CheckWarn, "polkitd is not installed: only root may change things", "apt install polkitd, or set [dbus] polkit = false "+configHint)
	default:
		add("polkit", model.CheckOK, "polkit actions "+polkitFiles[0], "")
	}
}

func (m *Manager) checkMetrics(add func(name, status, detail, fix string)) {
	l := m.cfg.Metrics.Listen
	if l == "" {
		add("metrics", model.CheckOK, "metrics endpoint turned off ([metrics] listen = \"\")", "")
		return
	}
	host, port, _ := net.SplitHostPort(l)
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 5*time.Second)
	if err != nil {
		add("metrics", model.CheckFail, fmt.Sprintf("nothing listens on %s: %v", l, err),
			"see `journalctl -u rockon`; another program may hold the port: set [metrics] listen "+configHint)
		return
	}
	c.Close()
	add("metrics", model.CheckOK, "metrics endpoint listening on "+l, "")
}

// checkRockOns compares each installed rock-on's desired state with its
// actual one.
func (m *Manager) checkRockOns() []model.Check {
	m.mu.Lock()
	defer m.mu.Unlock()
	slugs := make([]string, 0, len(m.installed))
	for s := range m.installed {
		slugs = append(slugs, s)
	}
	sort.Strings(slugs)
	var out []model.Check
	for _, slug := range slugs {
		in := m.installed[slug]
		st := m.stateLocked(slug, in)
		c := model.Check{Name: "rockon:" + in.Name, Status: model.CheckOK, Detail: fmt.Sprintf("%s: wanted %s, %s", in.Name, in.Desired, st)}
		switch {
		case busyState[m.busy[slug]] == st && m.busy[slug] != "":
			// an operation is under way: its own result will tell
		case in.Desired == state.DesiredOn && st != metrics.StateRunning:
			c.Status = model.CheckFail
			c.Fix = fmt.Sprintf("see `rockon status '%s'` and `journalctl -u 'rockon-%s-*'`, then: rockon restart '%s'", in.Name, slug, in.Name)
		case in.Desired == state.DesiredOff && st != metrics.StateStopped:
			c.Status = model.CheckWarn
			c.Fix = fmt.Sprintf("rockon stop '%s'", in.Name)
		}
		out = append(out, c)
	}
	return out
}

func firstExisting(paths []string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func errText(err error) string {
	if errors.Is(err, os.ErrNotExist) {
		return "does not exist"
	}
	return err.Error()
}
