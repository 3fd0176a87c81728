package daemon

import (
	"context"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/metrics"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

// unitChanged is called from systemd's signals; "" means changes may have
// been missed.
func (m *Manager) unitChanged(unit string) {
	if unit == "" {
		m.refreshAllUnits(m.ctx)
		return
	}
	ui, err := m.sd.info(m.ctx, unit)
	if err != nil {
		return
	}
	if ui.ActiveState == "failed" || ui.SubState == "auto-restart" {
		ui2 := ui
		go func() {
			tail := m.sd.logTail(m.ctx, unit, 10)
			m.mu.Lock()
			m.logs[unit] = tail
			m.mu.Unlock()
			m.notify(m.ownerOf(ui2.Name))
		}()
	}
	m.setUnit(ui)
}

// setUnit records a unit's state and tells the watchers.
func (m *Manager) setUnit(ui unitInfo) {
	m.mu.Lock()
	// systemd clears ExecMainStatus when it starts the main process
	// again: an automatic restart would hide the exit status that caused
	// it. While the unit runs, the status shows the last exit it saw
	// (units restart after RestartSec=, time enough to see the exit).
	if prev, ok := m.units[ui.Name]; ok && ui.ExitStatus == 0 && (ui.ActiveState == "active" || ui.ActiveState == "activating") {
		ui.ExitStatus = prev.ExitStatus
	}
	m.units[ui.Name] = ui
	// systemd's word on the unit replaces the engine's on the container
	// once systemd has seen the state change that followed the death, or
	// has the unit anything but active (see unitLocked)
	if d, ok := m.deaths[ui.Name]; ok && (ui.Since >= usec(d.Time) || ui.ActiveState != "active") {
		delete(m.deaths, ui.Name)
	}
	m.bumpLocked()
	if ui.ActiveState == "active" {
		delete(m.logs, ui.Name)
	}
	m.mu.Unlock()
	if slug := m.ownerOf(ui.Name); slug != "" {
		m.notify(slug)
	}
}

// ownerOf finds the installed rock-on a unit belongs to.
func (m *Manager) ownerOf(unit string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for slug, res := range m.results {
		for _, f := range res.Units {
			if f.Name == unit {
				return slug
			}
		}
	}
	return ""
}

// trackUnits reads the current state of a rock-on's units once; signals
// keep it current afterwards. It reports whether systemd found every unit
// (asking about a unit loads it).
func (m *Manager) trackUnits(ctx context.Context, res *unitgen.Result) (found bool) {
	found = true
	for _, f := range res.Units {
		ui, err := m.sd.info(ctx, f.Name)
		if err != nil {
			found = false
			continue
		}
		found = found && ui.LoadState == "loaded"
		m.setUnit(ui)
	}
	return found
}

func (m *Manager) refreshAllUnits(ctx context.Context) {
	m.mu.Lock()
	all := slices.Collect(maps.Values(m.results))
	m.mu.Unlock()
	// Asking systemd about a unit it has not loaded makes it load the
	// unit, and each load searches the unit directories: with 1,000
	// installed rock-ons (2,000 unit files) that took 35 s of systemd's
	// time at every start-up and reload. A unit systemd has not loaded is
	// inactive and has not run since systemd let it go, so only the
	// loaded ones are asked about; listing them loads nothing.
	loaded, err := m.sd.loaded(ctx, "rockon-*")
	var ask []string
	for _, r := range all {
		for _, f := range r.Units {
			if err == nil && !loaded[f.Name] {
				m.setUnit(unitInfo{Name: f.Name, LoadState: "loaded", ActiveState: "inactive", SubState: "dead", Result: "success"})
				continue
			}
			ask = append(ask, f.Name)
		}
	}
	for _, u := range ask {
		if ui, err := m.sd.info(ctx, u); err == nil {
			m.setUnit(ui)
		}
	}
}

// containerState maps systemd's view of a container unit to one word.
func containerState(ui unitInfo, known bool) string {
	if !known {
		return "unknown"
	}
	switch ui.ActiveState {
	case "active", "reloading":
		if ui.SubState == "exited" {
			return "exited"
		}
		return "running"
	case "activating":
		if ui.SubState == "auto-restart" {
			return "restarting"
		}
		return "starting"
	case "deactivating":
		// the engine reported the container's death (unitLocked)
		if ui.SubState == "died" && ui.ExitStatus != 0 {
			return "failed"
		}
		return "stopping"
	case "failed":
		return "failed"
	case "inactive":
		return "stopped"
	}
	return "unknown"
}

var busyState = map[model.OpKind]string{
	model.OpInstall: metrics.StateInstalling, model.OpUninstall: metrics.StateUninstalling, model.OpUpdate: metrics.StateUpdating,
	model.OpReconfigure: metrics.StateUpdating, model.OpStart: metrics.StateStarting, model.OpStop: metrics.StateStopping,
	model.OpRestart: metrics.StateStarting,
}

// stateLocked is a rock-on's one-word state. m.mu must be held.
func (m *Manager) stateLocked(slug string, in *state.Installed) string {
	if op, ok := m.busy[slug]; ok {
		return busyState[op]
	}
	if in == nil {
		return "not-installed"
	}
	switch in.Phase {
	case state.PhaseInstalling:
		return metrics.StateInstalling
	case state.PhaseUninstalling:
		return metrics.StateUninstalling
	case state.PhaseUpdating:
		return metrics.StateUpdating
	}
	res := m.results[slug]
	if res == nil {
		return metrics.StateUnknown
	}
	var running, failed, starting, stopping, stopped, total int
	for _, c := range res.Containers {
		if c.Data {
			continue
		}
		total++
		ui, ok := m.unitLocked(c.Unit)
		switch containerState(ui, ok) {
		case "running":
			running++
		case "failed":
			failed++
		case "starting", "restarting":
			starting++
		case "stopping":
			stopping++
		default:
			stopped++
		}
	}
	switch {
	case total == 0:
		if in.Desired == state.DesiredOn {
			return metrics.StateRunning
		}
		return metrics.StateStopped
	case running == total:
		return metrics.StateRunning
	case in.Desired == state.DesiredOff:
		if running > 0 || starting > 0 {
			return metrics.StateDegraded
		}
		if stopping > 0 {
			return metrics.StateStopping
		}
		return metrics.StateStopped
	case running > 0:
		return metrics.StateDegraded
	case failed > 0:
		return metrics.StateFailed
	case starting > 0:
		return metrics.StateStarting
	default:
		return metrics.StateStopped
	}
}

// Properties implements api.Backend.
func (m *Manager) Properties(name string) (model.Properties, error) {
	slug, def, in, err := m.lookup(name)
	if err != nil {
		return model.Properties{}, err
	}
	if in != nil {
		if d, err := definition(in.Name, in.Definition); err == nil {
			def = d
		}
	}
	p := model.Properties{Slug: slug, Engine: m.cfg.Engine.Name}
	if def != nil {
		p.Name, p.Version, p.Description, p.Website = def.Name, def.Version, def.Description, def.Website
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p.State = m.stateLocked(slug, in)
	if in == nil {
		for _, c := range def.Containers {
			for _, port := range c.Ports {
				p.Ports = append(p.Ports, model.Port{Container: c.Name, ContainerPort: uint32(port.ContainerPort), Protocol: port.Protocol, HostPort: uint32(port.HostDefault), UI: port.UI})
			}
		}
		return p, nil
	}
	p.Name = in.Name
	p.Installed = in.Phase != state.PhaseInstalling
	p.DesiredState = string(in.Desired)
	p.InstalledAt = usec(in.InstalledAt)
	p.UpdatedAt = usec(in.UpdatedAt)
	secrets := secretValues(in)
	p.LastError = redact(in.Last.Message, secrets)
	p.UpdateAvailable = m.updates[slug]
	p.AutoUpdate = m.autoUpdating(in)
	res := m.results[slug]
	ids := map[string]state.Image{}
	for _, im := range in.Images {
		ids[im.Container] = im
	}
	if res != nil {
		p.Target = res.Target
		for _, c := range res.Containers {
			ui, ok := m.unitLocked(c.Unit)
			ct := model.Container{Name: c.Name, Unit: c.Unit, State: containerState(ui, ok), ActiveState: ui.ActiveState, SubState: ui.SubState,
				Image: ids[c.Name].Ref, ImageID: ids[c.Name].ID, ExitCode: ui.ExitStatus, Restarts: ui.Restarts, Since: ui.Since}
			if ct.State == "failed" || ct.State == "restarting" {
				ct.LastLog = redact(m.logs[c.Unit], secrets)
				// a volume that now leads outside the allowed roots is
				// why the rock-on is down, whatever the last operation
				if p.LastError == "" {
					p.LastError = volumeRefusal(ct.LastLog)
				}
				// a container that died after its start was reported a
				// success: the rock-on's last error is that death
				if p.LastError == "" && ui.ExitStatus != 0 {
					p.LastError = fmt.Sprintf("container %s exited with status %d", c.Name, ui.ExitStatus)
				}
			}
			p.Containers = append(p.Containers, ct)
		}
	}
	if def != nil {
		for _, pp := range unitgen.TakenPorts(def, in.Choices) {
			cport, _ := strconv.Atoi(pp.ContainerPort) // 0 for a range opts publish
			p.Ports = append(p.Ports, model.Port{Container: pp.Container, ContainerPort: uint32(cport), Protocol: pp.Proto, HostPort: uint32(pp.Port), UI: pp.DefPort != nil && pp.DefPort.UI})
		}
		sort.Slice(p.Ports, func(i, j int) bool {
			if p.Ports[i].HostPort != p.Ports[j].HostPort {
				return p.Ports[i].HostPort < p.Ports[j].HostPort
			}
			return p.Ports[i].Protocol < p.Ports[j].Protocol
		})
		for _, c := range def.Containers {
			cc := in.Choices.Containers[c.Name]
			for path, host := range cc.Volumes {
				if !strings.HasPrefix(host, "/") {
					host = m.cfg.Volumes.SharesRoot + "/" + host
				}
				p.Volumes = append(p.Volumes, model.Volume{Container: c.Name, Path: path, Host: host})
			}
		}
		sort.Slice(p.Volumes, func(i, j int) bool {
			return p.Volumes[i].Container+p.Volumes[i].Path < p.Volumes[j].Container+p.Volumes[j].Path
		})
		for _, port := range p.Ports {
			if port.UI && port.HostPort > 0 {
				p.UIURL = catalog.UIURL(def.UI, "localhost", int(port.HostPort))
				break
			}
		}
	}
	return p, nil
}

// secretValues are the values a rock-on's choices pass to its containers
// through env files and custom config: they must not leak to readers of
// the public properties through error messages or log lines.
func secretValues(in *state.Installed) []string {
	var out []string
	add := func(v string) {
		if len(v) >= 3 {
			out = append(out, v)
		}
	}
	for _, cc := range in.Choices.Containers {
		for _, v := range cc.Env {
			add(v)
		}
	}
	for _, v := range in.Choices.CustomConfig {
		add(v)
	}
	// longest first, so that a value containing another is replaced whole
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func redact(s string, secrets []string) string {
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	return s
}

func usec(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixMicro())
}

// Version is rockond's version, from the build information.
var Version = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}()

// ManagerProperties implements api.Backend.
func (m *Manager) ManagerProperties() model.ManagerProperties {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := model.ManagerProperties{Version: Version, Engine: m.cfg.Engine.Name, CatalogEntries: uint32(m.catalog.Len()),
		CatalogRefreshedAt: usec(m.refreshedAt), Installed: uint32(len(m.installed))}
	for slug, in := range m.installed {
		if m.stateLocked(slug, in) == metrics.StateRunning {
			p.Running++
		}
	}
	return p
}

// Snapshot implements metrics.Source from the systemd-driven view.
func (m *Manager) Snapshot() metrics.Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := metrics.Snapshot{Catalog: metrics.CatalogSnapshot{Entries: m.catalog.Len(), LastRefresh: m.refreshedAt}}
	for slug, in := range m.installed {
		r := metrics.RockOnSnapshot{Name: in.Name, Engine: m.cfg.Engine.Name, State: m.stateLocked(slug, in), DesiredRunning: in.Desired == state.DesiredOn}
		r.UpdateAvailable, r.UpdateChecked = m.updates[slug]
		if d, err := definition(in.Name, in.Definition); err == nil {
			r.Version = d.Version
		}
		if res := m.results[slug]; res != nil {
			for _, c := range res.Containers {
				ui, ok := m.unitLocked(c.Unit)
				cs := metrics.ContainerSnapshot{Name: c.Name, Unit: c.Unit, ActiveState: ui.ActiveState, SubState: ui.SubState, NRestarts: uint64(ui.Restarts)}
				if !ok {
					cs.ActiveState = "unknown"
				}
				if ui.ActiveEnter > 0 {
					cs.StartTime = time.UnixMicro(int64(ui.ActiveEnter))
				}
				r.Containers = append(r.Containers, cs)
			}
		}
		s.RockOns = append(s.RockOns, r)
	}
	sort.Slice(s.RockOns, func(i, j int) bool { return s.RockOns[i].Name < s.RockOns[j].Name })
	return s
}

// volumeRefusal returns the line of a unit's journal tail in which
// `rockond check-volumes` refused a host path, or "".
func volumeRefusal(log string) string {
	for _, l := range strings.Split(log, "\n") {
		if i := strings.Index(l, unitgen.VolumeCheckPrefix); i >= 0 {
			return "container start refused: " + strings.TrimSpace(l[i+len(unitgen.VolumeCheckPrefix):])
		}
	}
	return ""
}
