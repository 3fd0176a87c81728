package daemon

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/unitgen"
)

// checkContainerNames refuses a rock-on whose containers have the name of
// another installed rock-on's container: engines name containers
// globally, and a unit starting its container (podman run --replace,
// docker rm --force first) would remove the other rock-on's.
func (m *Manager) checkContainerNames(slug string, res *unitgen.Result) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for other, r := range m.results {
		if other == slug {
			continue
		}
		for _, c := range res.Containers {
			for _, oc := range r.Containers {
				if c.Name == oc.Name {
					name := other
					if in := m.installed[other]; in != nil {
						name = in.Name
					}
					return fmt.Errorf("%w: container name %q is already used by the installed rock-on %s (engines name containers globally)", model.ErrInvalidArgs, c.Name, name)
				}
			}
		}
	}
	return nil
}

// checkForeignContainers refuses container names the engine already has
// for a container that is not this rock-on's (old: its current units, nil
// at install): rockon would replace it (podman run --replace, docker rm
// --force), destroying something it does not own.
func (m *Manager) checkForeignContainers(ctx context.Context, res, old *unitgen.Result) error {
	var check []string
	for _, c := range res.Containers {
		if old != nil && slices.ContainsFunc(old.Containers, func(o unitgen.ContainerUnit) bool { return o.Name == c.Name }) {
			continue
		}
		check = append(check, c.Name)
	}
	if len(check) == 0 {
		return nil
	}
	// one engine process for all of them (an install of three containers
	// asked three times before)
	have, err := m.eng.ExistingContainers(ctx, check)
	if err != nil {
		return fmt.Errorf("%w: checking whether container names %s are free: %v", model.ErrFailed, strings.Join(check, ", "), err)
	}
	for _, c := range check {
		if slices.Contains(have, c) {
			return fmt.Errorf("%w: container name %q is taken by a container rockon does not own; rockon never replaces it: remove or rename that container first", model.ErrInvalidArgs, c)
		}
	}
	return nil
}
