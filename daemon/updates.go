package daemon

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/rockon/rockon/catalog"
	api "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/engine"
	"github.com/rockon/rockon/unitgen"
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
func (m *Manager) CheckUpdates(ctx context.Context, names []string) ([]api.UpdateCheck, error) {
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
			return nil, fmt.Errorf("%w: %s", api.ErrNotInstalled, n)
		}
		slugs = append(slugs, unitgen.Slug(in.Name))
	}
	var out []api.UpdateCheck
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
			c := api.UpdateCheck{Name: in.Name, Container: im.Container, Image: ref}
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
					failed[ref] = err.Error()
					c.Error = err.Error()
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
