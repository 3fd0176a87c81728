package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rockon/rockon/engine"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

// networksToRemove decides which engine networks go with a rock-on being
// removed (uninstall, or rollback of an install), following the rule on
// unitgen.Network.Shared: its own networks always; a shared one only when
// no other installed rock-on lists it and it carries the created-by label.
//
// others are the compiled results of the other installed rock-ons; a nil
// entry is one whose record does not compile, whose networks are unknown,
// so no shared network is removed. labels holds the engine's labels of
// each shared network (absent: the network is missing or could not be
// inspected, and is left alone). It returns the networks to remove and,
// for logging, why each other shared network stays.
func networksToRemove(res *unitgen.Result, others []*unitgen.Result, labels map[string]map[string]string) (remove []string, kept map[string]string) {
	if res == nil {
		return nil, nil
	}
	remove = append(remove, res.Networks...)
	kept = map[string]string{}
	for _, n := range res.EngineNetworks {
		if !n.Shared || slices.Contains(remove, n.Name) {
			continue
		}
		if reason := sharedInUse(n.Name, others); reason != "" {
			kept[n.Name] = reason
			continue
		}
		l, ok := labels[n.Name]
		if !ok {
			kept[n.Name] = "missing or not inspectable"
			continue
		}
		if _, ok := l[unitgen.SharedNetworkLabel]; !ok {
			kept[n.Name] = "not created by rockon (no " + unitgen.SharedNetworkLabel + " label)"
			continue
		}
		remove = append(remove, n.Name)
	}
	return remove, kept
}

// sharedInUse tells why another rock-on may still need the network, or "".
func sharedInUse(name string, others []*unitgen.Result) string {
	for _, o := range others {
		if o == nil {
			return "an installed rock-on's networks are unknown (its record does not compile)"
		}
		for _, n := range o.EngineNetworks {
			if n.Name == name {
				return "used by the installed rock-on " + o.Slug
			}
		}
	}
	return ""
}

// removeNetworks removes the networks that go with the rock-on slug (see
// networksToRemove). The rock-ons that are being uninstalled do not count
// as users: of two uninstalled at once, the last to get here removes it.
func (m *Manager) removeNetworks(ctx context.Context, slug string, res *unitgen.Result) error {
	if res == nil {
		return nil
	}
	var others []*unitgen.Result
	m.mu.Lock()
	for s, in := range m.installed {
		if s == slug || in.Phase == state.PhaseUninstalling {
			continue
		}
		others = append(others, m.results[s])
	}
	m.mu.Unlock()
	labels := map[string]map[string]string{}
	for _, n := range res.EngineNetworks {
		if !n.Shared || sharedInUse(n.Name, others) != "" {
			continue
		}
		l, err := m.eng.NetworkLabels(ctx, n.Name)
		if err != nil {
			if !errors.Is(err, engine.ErrNotFound) {
				m.log.Warn("leaving a shared network", "network", n.Name, "err", err)
			}
			continue
		}
		labels[n.Name] = l
	}
	remove, kept := networksToRemove(res, others, labels)
	for n, why := range kept {
		m.log.Info("leaving a shared network", "network", n, "why", why)
	}
	shared := map[string]bool{}
	for _, n := range res.EngineNetworks {
		shared[n.Name] = n.Shared
	}
	var errs []error
	for _, n := range remove {
		err := m.eng.RemoveNetwork(ctx, n)
		if shared[n] && errors.Is(err, engine.ErrNetworkInUse) {
			// containers outside rockon still use it: theirs now
			m.log.Warn("leaving a shared network other containers use", "network", n, "err", err)
			continue
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkAdminNetworks refuses an install while a network the definition's
// opts name (unitgen.Network.Shared: the administrator's, like AdGuard
// Home's adguard-home) is missing, saying how to make it: rockon never
// creates one, since a plain bridge in place of the macvlan the rock-on's
// guide asks for would leave the app unreachable.
func (m *Manager) checkAdminNetworks(res *unitgen.Result) error {
	ctx, cancel := context.WithTimeout(m.ctx, time.Minute)
	defer cancel()
	var probs []string
	for _, n := range res.EngineNetworks {
		if !n.Shared || n.UserAdded {
			continue
		}
		ok, err := m.eng.NetworkExists(ctx, n.Name)
		if err != nil {
			return fmt.Errorf("%w: looking for network %s: %v", model.ErrFailed, n.Name, err)
		}
		if !ok {
			bin := m.cfg.Engine.Name
			probs = append(probs, fmt.Sprintf("network %q does not exist; the definition joins it and it is the administrator's to make "+
				"(rockon never creates it): create it as the rock-on's notes say, e.g. %q, or %q for a plain bridge, then install again",
				n.Name, bin+" network create -d macvlan --subnet 192.168.1.0/24 --gateway 192.168.1.1 -o parent=eth0 "+n.Name, bin+" network create "+n.Name))
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", model.ErrInvalidArgs, strings.Join(probs, "; "))
	}
	return nil
}
