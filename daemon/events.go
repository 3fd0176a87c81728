package daemon

import (
	"context"
	"time"

	"github.com/rockon/rockon/engine"
)

// The engine learns of a container's death milliseconds after it happens;
// systemd only when the unit's main process (podman's `run`, docker's
// `start --attach`) ends, which for podman waits for conmon's cleanup
// (0.4-1.3 s measured). rockond follows the engine's own event stream
// beside systemd's signals: the engine's word for the container, systemd's
// for the unit. A death the engine reports is shown at once (the unit as
// deactivating, see unitLocked) until systemd's next state change for the
// unit replaces it.

// followEngine runs the engine's event stream until ctx ends, starting it
// again when the client exits (an engine restarted, a client killed).
// What it misses in between reaches rockond later through systemd.
func (m *Manager) followEngine(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		began := time.Now()
		err := m.eng.Follow(ctx, m.engineEvent)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > time.Minute {
			backoff = time.Second
		}
		m.log.Warn("container engine's event stream ended; following it again", "err", err, "after", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// engineEvent records what one engine event says about a rock-on's
// container.
func (m *Manager) engineEvent(ev engine.Event) {
	if ev.Action != "died" && ev.Action != "start" {
		return
	}
	m.mu.Lock()
	slug, unit := m.containerLocked(ev.Name)
	if unit == "" {
		m.mu.Unlock()
		return
	}
	switch ev.Action {
	case "died":
		m.log.Info("container died", "container", ev.Name, "exit_status", ev.ExitCode)
		// systemd may have told of the end already (the unit's state
		// changed after the death): its word stands
		if ui, ok := m.units[unit]; ok && ui.Since >= usec(ev.Time) {
			m.mu.Unlock()
			return
		}
		if m.deaths == nil {
			m.deaths = map[string]engine.Event{}
		}
		m.deaths[unit] = ev
	case "start":
		// a death told by the exit files may arrive before the stream's
		// word of the start before it
		if d, ok := m.deaths[unit]; ok && !d.Time.After(ev.Time) {
			delete(m.deaths, unit)
		}
		if m.starts == nil {
			m.starts = map[string]time.Time{}
		}
		m.starts[unit] = ev.Time
	}
	m.bumpLocked()
	m.mu.Unlock()
	if ev.Action == "died" {
		m.notify(slug)
	}
}

// containerLocked finds the installed rock-on and unit of a container
// name. m.mu must be held.
func (m *Manager) containerLocked(name string) (slug, unit string) {
	for s, res := range m.results {
		for _, c := range res.Containers {
			if c.Name == name && !c.Data {
				return s, c.Unit
			}
		}
	}
	return "", ""
}

// unitLocked is a unit's state as rockond shows it: systemd's, unless
// systemd still has the unit active and the engine reported the
// container's death since systemd's last state change. Only an active
// unit is overridden: the engine may log a death after systemd's own
// change (podman's cleanup writes its event late on a stop), and a unit
// systemd already has stopped, failed or restarting says more than the
// death does. m.mu must be held.
func (m *Manager) unitLocked(unit string) (unitInfo, bool) {
	ui, ok := m.units[unit]
	if d, died := m.deaths[unit]; died && ok && ui.ActiveState == "active" {
		ui.ActiveState, ui.SubState, ui.ExitStatus = "deactivating", "died", int32(d.ExitCode)
	}
	return ui, ok
}

// bumpLocked wakes everyone waiting for a change (see changes). m.mu must
// be held.
func (m *Manager) bumpLocked() {
	if m.changed != nil {
		close(m.changed)
		m.changed = nil
	}
}

// changes returns a channel closed at the next change of a unit's or a
// container's state: read it before looking at the state, wait on it after.
func (m *Manager) changes() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.changed == nil {
		m.changed = make(chan struct{})
	}
	return m.changed
}
