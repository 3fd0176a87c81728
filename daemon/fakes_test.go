package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rockon/rockon/engine"
)

// In-memory stand-ins for systemd and the container engine (unitManager,
// containerEngine), for the manager's decision tests.

// fakeSystemd records every call and keeps each unit's state.
type fakeSystemd struct {
	mu        sync.Mutex
	calls     []string
	states    map[string]string // unit -> ActiveState
	reloadErr error
	// held: systemd holds the units asked about in memory (leftovers of
	// an earlier install); stale: it does not find new unit files until
	// a reload (its cache of the unit directories missed them)
	held, stale bool
	// onStart runs at each start job and returns the state the unit's
	// containers get (nil: "active").
	onStart func(unit string) string
}

func (f *fakeSystemd) call(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, a...))
}

func (f *fakeSystemd) called(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeSystemd) reload(context.Context) error {
	f.call("reload")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reloadErr == nil {
		f.stale = false
	}
	return f.reloadErr
}

// enable and disable of no unit are no call, as with *systemd.
func (f *fakeSystemd) enable(_ context.Context, units []string) error {
	if len(units) == 0 {
		return nil
	}
	f.call("enable %s", strings.Join(units, " "))
	return nil
}

func (f *fakeSystemd) disable(_ context.Context, units []string) error {
	if len(units) == 0 {
		return nil
	}
	f.call("disable %s", strings.Join(units, " "))
	return nil
}

func (f *fakeSystemd) job(_ context.Context, verb, unit string, _ time.Duration) error {
	f.call("%s %s", verb, unit)
	st := "inactive"
	if verb != "stop" {
		st = "active"
		if f.onStart != nil {
			st = f.onStart(unit)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.states == nil {
		f.states = map[string]string{}
	}
	// a target's start starts its containers
	f.states["*"] = st
	return nil
}

func (f *fakeSystemd) startNoWait(ctx context.Context, unit string) error {
	return f.job(ctx, "start", unit, 0)
}

func (f *fakeSystemd) resetFailed(_ context.Context, unit string) { f.call("reset-failed %s", unit) }

func (f *fakeSystemd) info(_ context.Context, unit string) (unitInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.states["*"]
	if st == "" {
		st = "inactive"
	}
	if f.stale {
		return unitInfo{Name: unit, LoadState: "not-found", ActiveState: "inactive", SubState: "dead"}, nil
	}
	return unitInfo{Name: unit, LoadState: "loaded", ActiveState: st, SubState: st}, nil
}

func (f *fakeSystemd) loaded(_ context.Context, patterns ...string) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for _, p := range patterns {
		if f.held && !strings.ContainsAny(p, "*?[") {
			out[p] = true
		}
	}
	return out, nil
}

func (f *fakeSystemd) logTail(context.Context, string, int) string { return "the app's last words" }

// fakeEngine has images (ref -> ID) and records changes; a pull gives a
// ref the ID in next, when set.
type fakeEngine struct {
	mu     sync.Mutex
	images map[string]string
	next   map[string]string
	calls  []string
	// running: what it says of every container
	running bool
}

func (e *fakeEngine) call(format string, a ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, fmt.Sprintf(format, a...))
}

func (e *fakeEngine) Images(_ context.Context, refs []string) (map[string]engine.Image, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]engine.Image{}
	for _, ref := range refs {
		if id, ok := e.images[ref]; ok {
			out[ref] = engine.Image{ID: id}
		}
	}
	return out, nil
}

func (e *fakeEngine) Pull(_ context.Context, ref string, _ engine.Progress) error {
	e.call("pull %s", ref)
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.next[ref]; ok {
		e.images[ref] = id
	}
	if _, ok := e.images[ref]; !ok {
		return errors.New("manifest unknown")
	}
	return nil
}

func (e *fakeEngine) Tag(_ context.Context, src, dst string) error {
	e.call("tag %s %s", src, dst)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.images[dst] = src
	return nil
}

func (e *fakeEngine) RemoveImage(_ context.Context, ref string) error {
	e.call("rmi %s", ref)
	return nil
}
func (e *fakeEngine) RepoDigests(context.Context, string) ([]string, error)  { return nil, nil }
func (e *fakeEngine) RegistryDigest(context.Context, string) (string, error) { return "", nil }
func (e *fakeEngine) ExistingContainers(context.Context, []string) ([]string, error) {
	return nil, nil
}
func (e *fakeEngine) ContainerRunning(context.Context, string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running, nil
}
func (e *fakeEngine) ContainerAddrs(context.Context, string) (bool, []string, error) {
	return false, nil, nil
}
func (e *fakeEngine) VolumeExists(context.Context, string) (bool, error)  { return false, nil }
func (e *fakeEngine) RemoveVolume(context.Context, string) error          { return nil }
func (e *fakeEngine) NetworkExists(context.Context, string) (bool, error) { return false, nil }
func (e *fakeEngine) NetworkLabels(context.Context, string) (map[string]string, error) {
	return nil, engine.ErrNotFound
}
func (e *fakeEngine) RemoveNetwork(context.Context, string) error { return nil }
func (e *fakeEngine) Storage(context.Context) (string, error)     { return "/var/lib/containers", nil }
func (e *fakeEngine) RemoveContainer(_ context.Context, name string) error {
	e.call("rm %s", name)
	return nil
}

// Follow has no events to tell.
func (e *fakeEngine) Follow(ctx context.Context, _ func(engine.Event)) error {
	<-ctx.Done()
	return ctx.Err()
}
