package daemon

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

// recover finishes or undoes what a crash interrupted, and brings unit
// files back in line with the records (after an upgrade of rockon changed
// the generator, or a file was lost).
func (m *Manager) recover(ctx context.Context) {
	m.mu.Lock()
	recs := slices.Collect(maps.Values(m.installed))
	m.mu.Unlock()
	reload := false
	// enablement as it is, read once: every disable call (and asking
	// systemd for unit file states) makes systemd search the unit
	// directories: 4 s at each start-up with 1,000 installed rock-ons
	linked := m.enablementLinks()
	for _, in := range recs {
		slug := model.Slug(in.Name)
		m.mu.Lock()
		res := m.results[slug]
		m.mu.Unlock()
		log := m.log.With("rockon", in.Name, "phase", in.Phase)
		switch in.Phase {
		case state.PhaseInstalling:
			log.Warn("rolling back an interrupted install")
			if err := m.rollbackInstall(ctx, in, res); err != nil {
				log.Error("rolling back", "err", err)
			}
		case state.PhaseUninstalling:
			log.Warn("finishing an interrupted uninstall")
			if err := m.teardown(ctx, in, res); err != nil {
				log.Error("uninstalling", "err", err)
			}
			if err := m.forget(in); err != nil {
				log.Error("uninstalling", "err", err)
			}
			m.mu.Lock()
			delete(m.results, slug)
			m.mu.Unlock()
		case state.PhaseUpdating:
			log.Warn("rolling back an interrupted update")
			cp := *in
			cp.Phase, cp.PhaseSince, cp.Pending = state.PhaseInstalled, time.Now().UTC(), nil
			if res != nil {
				if err := m.writeFiles(res); err != nil {
					log.Error("restoring units", "err", err)
					continue
				}
				cp.Units, cp.EnvFiles = generated(res.Units), generated(res.EnvFiles)
			}
			if err := m.save(&cp); err != nil {
				log.Error("restoring", "err", err)
			}
			reload = true
			if in.Desired == state.DesiredOn && res != nil {
				// after the reload: containers may run what the
				// interrupted change gave them, so restart them all
				defer func() {
					_ = m.sd.enable(ctx, installUnits(res))
					for _, c := range res.Containers {
						if !c.Data {
							_ = m.sd.job(ctx, "restart", c.Unit, time.Minute)
						}
					}
					_ = m.sd.job(ctx, "start", res.Target, time.Minute)
				}()
			}
		case state.PhaseInstalled:
			if res == nil {
				continue
			}
			if m.regenerate(in, res) {
				reload = true
			}
			// a crash between recording the desired state and acting on
			// it leaves enablement behind: make it agree (after the
			// reload below)
			in := in
			defer m.reconcileDesired(ctx, in, res, linked)
		}
	}
	if reload {
		if err := m.sd.reload(ctx); err != nil {
			m.log.Error("recovery", "err", err)
		}
	}
	m.removeOrphans(ctx)
}

// regenerate rewrites the units and env files that differ from what the
// record compiles to; it reports whether it wrote any.
func (m *Manager) regenerate(in *state.Installed, res *unitgen.Result) bool {
	wrote := false
	for _, set := range []struct {
		dir   string
		files []unitgen.File
	}{{m.cfg.UnitDir, res.Units}, {m.cfg.EnvDir, res.EnvFiles}} {
		for _, f := range set.files {
			path := filepath.Join(set.dir, f.Name)
			cur, err := os.ReadFile(path)
			if err == nil && bytes.Equal(cur, f.Content) {
				continue
			}
			if err == nil && !unitgen.Owned(cur) {
				m.log.Warn("not replacing a file rockon does not own", "path", path)
				continue
			}
			if err := writeGenerated(set.dir, f); err != nil {
				m.log.Error("regenerating", "path", path, "err", err)
				continue
			}
			m.log.Info("regenerated", "rockon", in.Name, "path", path)
			wrote = true
		}
	}
	if wrote {
		cp := *in
		cp.Units, cp.EnvFiles = generated(res.Units), generated(res.EnvFiles)
		if err := m.save(&cp); err != nil {
			m.log.Error("recording regenerated units", "err", err)
		}
	}
	return wrote
}

// removeOrphans removes rockon-owned unit and env files that no record
// claims: leftovers of a record lost or moved aside by hand. A file
// without the ownership marker is never touched.
func (m *Manager) removeOrphans(ctx context.Context) {
	claimed := map[string]bool{}
	m.mu.Lock()
	for slug, in := range m.installed {
		for _, f := range in.Units {
			claimed[f.Name] = true
		}
		for _, f := range in.EnvFiles {
			claimed[f.Name] = true
		}
		if res := m.results[slug]; res != nil {
			for _, f := range res.Units {
				claimed[f.Name] = true
			}
			for _, f := range res.EnvFiles {
				claimed[f.Name] = true
			}
		}
	}
	m.mu.Unlock()
	protected := m.unreadableSlugs()
	var units, envs []string
	scan := func(dir string, out *[]string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			n := e.Name()
			if !strings.HasPrefix(n, "rockon-") || !e.Type().IsRegular() || claimed[n] {
				continue
			}
			if slices.ContainsFunc(protected, func(slug string) bool {
				return strings.HasPrefix(n, "rockon-"+slug+".") || strings.HasPrefix(n, "rockon-"+slug+"-") || strings.HasPrefix(n, unitgen.SlicePrefix(slug))
			}) {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil || !unitgen.Owned(data) {
				continue
			}
			*out = append(*out, n)
		}
	}
	scan(m.cfg.UnitDir, &units)
	scan(m.cfg.EnvDir, &envs)
	if len(units)+len(envs) == 0 {
		return
	}
	m.log.Warn("removing files no installed rock-on claims", "units", units, "env_files", envs)
	for _, u := range units {
		_ = m.sd.job(ctx, "stop", u, time.Minute)
	}
	_ = m.sd.disable(ctx, units)
	if err := m.removeFiles(units, envs); err != nil {
		m.log.Error("removing orphans", "err", err)
	}
	_ = m.sd.reload(ctx)
}

// unreadableSlugs are the slugs of state files that could not be read or
// were moved aside: their units belong to a rock-on rockon cannot describe
// right now, so they are never treated as orphans.
func (m *Manager) unreadableSlugs() []string {
	entries, err := os.ReadDir(m.cfg.StateDir)
	if err != nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	loaded := map[string]bool{}
	for _, in := range m.installed {
		loaded[model.Slug(in.Name)] = true
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		slug, _, broken := strings.Cut(n, ".toml.broken-")
		if !broken {
			var ok bool
			if slug, ok = strings.CutSuffix(n, ".toml"); !ok || loaded[slug] {
				continue
			}
		}
		if slug != "" && !strings.HasPrefix(slug, ".") {
			out = append(out, slug)
		}
	}
	return out
}

// reconcileDesired makes a rock-on's enablement (and, when it should be on,
// its target) agree with the desired state. Starting does not wait: at boot
// the containers may take long, and the daemon must not hold up its own
// start-up for them.
//
// linked, when not nil, holds the units with an enablement symlink in the
// unit directory: a rock-on that should be off and has none is left alone,
// one that should be on and has them all is not enabled again.
func (m *Manager) reconcileDesired(ctx context.Context, in *state.Installed, res *unitgen.Result, linked map[string]bool) {
	switch in.Desired {
	case state.DesiredOn:
		// enabling an enabled unit changes nothing, but each call makes
		// systemd look the units up in its unit directories (as each
		// DisableUnitFiles did, measured with 1,000 rock-ons): at boot,
		// one call per enabled rock-on while systemd starts their units
		units := installUnits(res)
		if linked == nil || slices.ContainsFunc(units, func(u string) bool { return !linked[u] }) {
			if err := m.sd.enable(ctx, units); err != nil {
				m.log.Warn("enabling", "rockon", in.Name, "err", err)
			}
		}
		// at boot the target is inactive with a start job queued (it
		// waits for its containers): systemd is starting it already
		ui, err := m.sd.info(ctx, res.Target)
		if err == nil && ui.ActiveState != "active" && ui.ActiveState != "activating" && ui.Job == 0 {
			m.log.Info("starting a rock-on that should be on", "rockon", in.Name)
			if err := m.sd.startNoWait(ctx, res.Target); err != nil {
				m.log.Warn("starting", "rockon", in.Name, "err", err)
			}
		}
	case state.DesiredOff:
		units := installUnits(res)
		if linked != nil && !slices.ContainsFunc(units, func(u string) bool { return linked[u] }) {
			return
		}
		if err := m.sd.disable(ctx, units); err != nil {
			m.log.Warn("disabling", "rockon", in.Name, "err", err)
		}
	}
}

// enablementLinks returns the names of the units that have a symlink in a
// .wants, .requires or .upholds directory of the unit directory: where
// enabling a unit (not at runtime) puts its links, and where disabling
// removes them. nil when the directory cannot be read.
func (m *Manager) enablementLinks() map[string]bool {
	entries, err := os.ReadDir(m.cfg.UnitDir)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".wants") && !strings.HasSuffix(n, ".requires") && !strings.HasSuffix(n, ".upholds") {
			continue
		}
		links, err := os.ReadDir(filepath.Join(m.cfg.UnitDir, n))
		if err != nil {
			if errors.Is(err, syscall.ENOTDIR) {
				continue
			}
			return nil
		}
		for _, l := range links {
			out[l.Name()] = true
		}
	}
	return out
}
