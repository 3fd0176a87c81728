package daemon

import (
	"fmt"

	api "github.com/rockon/rockon/dbus"
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
					return fmt.Errorf("%w: container name %q is already used by the installed rock-on %s (engines name containers globally)", api.ErrInvalidArgs, c.Name, name)
				}
			}
		}
	}
	return nil
}
