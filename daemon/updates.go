package daemon

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/engine"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
)

// splitRef cuts a qualified reference into repository and tag.
func splitRef(ref string) (repo, tag string) {
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// CheckUpdates implements api.Backend: for every container of the named
// installed rock-ons (all when names is empty) it asks the registry for
// the digest its tag points at now and compares it with the digests the
// engine recorded for the image the container runs. Nothing is pulled and
// no local image changes. A container that cannot be checked says why in
// its Error; the call fails only for a name that is not installed.
func (m *Manager) CheckUpdates(ctx context.Context, names []string) ([]model.UpdateCheck, error) {
	var slugs []string
	m.mu.Lock()
	if len(names) == 0 {
		for slug := range m.installed {
			slugs = append(slugs, slug)
		}
		sort.Strings(slugs)
	}
	m.mu.Unlock()
	for _, n := range names {
		_, _, in, err := m.lookup(n)
		if err != nil {
			return nil, err
		}
		if in == nil {
			return nil, fmt.Errorf("%w: %s", model.ErrNotInstalled, n)
		}
		slugs = append(slugs, model.Slug(in.Name))
	}
	var out []model.UpdateCheck
	latest := map[string]string{} // ref -> registry digest, asked once
	failed := map[string]string{}
	for _, slug := range slugs {
		in := m.get(slug)
		if in == nil {
			continue
		}
		any := false
		for _, im := range in.Images {
			ref := catalog.QualifyImage(im.Ref)
			c := model.UpdateCheck{Name: in.Name, Container: im.Container, Image: ref}
			repo, _ := splitRef(ref)
			digests, err := m.eng.RepoDigests(ctx, im.ID)
			if err != nil && !errors.Is(err, engine.ErrNotFound) {
				c.Error = err.Error()
				out = append(out, c)
				continue
			}
			var mine []string
			for _, rd := range digests {
				r, d, ok := strings.Cut(rd, "@")
				if ok && catalog.QualifyImage(r) == repo {
					mine = append(mine, d)
				}
			}
			if len(mine) > 0 {
				c.CurrentDigest = mine[0]
			}
			if engine.LocalOnly(ref) {
				c.Error = "local-only image: no registry to ask"
				out = append(out, c)
				continue
			}
			d, seen := latest[ref]
			if !seen {
				if msg, bad := failed[ref]; bad {
					c.Error = msg
					out = append(out, c)
					continue
				}
				d, err = m.eng.RegistryDigest(ctx, ref)
				if err != nil {
					msg := fmt.Sprintf("image %s from registry %s: %v", ref, catalog.RegistryHost(ref), err)
					m.log.Warn("update check", "rockon", in.Name, "container", im.Container, "err", msg)
					failed[ref] = msg
					c.Error = msg
					out = append(out, c)
					continue
				}
				latest[ref] = d
			}
			c.LatestDigest = d
			c.UpdateAvailable = true
			for _, x := range mine {
				if x == d {
					c.CurrentDigest, c.UpdateAvailable = x, false
				}
			}
			if c.UpdateAvailable {
				any = true
				m.log.Info("update available", "rockon", in.Name, "container", im.Container, "image", ref,
					"current", c.CurrentDigest, "latest", d)
			}
			out = append(out, c)
		}
		m.mu.Lock()
		m.updates[slug] = any
		m.mu.Unlock()
		m.notify(slug)
	}
	return out, nil
}

// autoUpdating reports whether the automatic update updates in: opted in
// (SetAutoUpdate) or listed in rockond.toml's [update] auto.
func (m *Manager) autoUpdating(in *state.Installed) bool {
	if in.AutoUpdate {
		return true
	}
	for _, n := range m.cfg.Update.Auto {
		if model.Slug(n) == model.Slug(in.Name) {
			return true
		}
	}
	return false
}

// SetAutoUpdate implements api.Backend: it opts an installed rock-on in to
// (or out of) the automatic update, in its record. The rock-on is reserved
// meanwhile, as for any change, so that no operation's save undoes it.
func (m *Manager) SetAutoUpdate(name string, on bool) error {
	slug, _, in, err := m.lookup(name)
	if err != nil {
		return err
	}
	if in == nil {
		return fmt.Errorf("%w: %s", model.ErrNotInstalled, name)
	}
	if err := m.reserve(slug, "auto-update setting"); err != nil {
		return err
	}
	defer m.release(slug)
	if in = m.get(slug); in == nil {
		return fmt.Errorf("%w: %s", model.ErrNotInstalled, name)
	}
	cp := *in
	cp.AutoUpdate = on
	if err := m.save(&cp); err != nil {
		return err
	}
	m.log.Info("auto-update setting", "rockon", in.Name, "on", on)
	m.notify(slug)
	return nil
}

// AutoUpdate implements api.Backend: the rock-ons opted in (autoUpdating)
// are checked and, when a registry has a newer image for one of their
// containers, updated, one at a time, in name order (an update that does
// not start is rolled back by the update itself). It returns, and logs to
// the journal, one line per rock-on saying what was done.
func (m *Manager) AutoUpdate(ctx context.Context) ([]string, error) {
	var names []string
	m.mu.Lock()
	for _, in := range m.installed {
		if m.autoUpdating(in) {
			names = append(names, in.Name)
		}
	}
	m.mu.Unlock()
	sort.Strings(names)
	var lines []string
	for _, name := range names {
		if ctx.Err() != nil {
			return lines, ctx.Err()
		}
		line, failed := m.autoUpdateOne(ctx, name)
		if failed {
			m.log.Warn(line)
		} else {
			m.log.Info(line)
		}
		lines = append(lines, line)
	}
	return lines, nil
}

func (m *Manager) autoUpdateOne(ctx context.Context, name string) (line string, failed bool) {
	oneLine := func(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }
	checks, err := m.CheckUpdates(ctx, []string{name})
	if err != nil {
		return fmt.Sprintf("auto-update %s: not checked: %s", name, oneLine(err)), true
	}
	var newer, unchecked []string
	for _, c := range checks {
		switch {
		case c.Error != "":
			unchecked = append(unchecked, c.Container+": "+c.Error)
		case c.UpdateAvailable:
			newer = append(newer, fmt.Sprintf("%s %s -> %s", c.Image, c.CurrentDigest, c.LatestDigest))
		}
	}
	if len(newer) == 0 {
		if len(unchecked) > 0 {
			return fmt.Sprintf("auto-update %s: not checked: %s", name, strings.Join(unchecked, "; ")), true
		}
		return fmt.Sprintf("auto-update %s: current", name), false
	}
	run, err := m.Begin(model.Operation{Kind: model.OpUpdate, Name: name})
	if err != nil {
		return fmt.Sprintf("auto-update %s: not updated: %s", name, oneLine(err)), true
	}
	if err := run(ctx, func(float64, string) {}); err != nil {
		return fmt.Sprintf("auto-update %s: update failed, the previous version runs on: %s", name, oneLine(err)), true
	}
	return fmt.Sprintf("auto-update %s: updated (%s)", name, strings.Join(newer, ", ")), false
}

// every runs f every d until ctx ends; d <= 0 never.
func every(ctx context.Context, d time.Duration, f func()) {
	if d <= 0 {
		return
	}
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
