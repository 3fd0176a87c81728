package daemon

import (
	"context"
	"time"

	"github.com/rockon/rockon/engine"
)

// The manager drives systemd and the container engine through these two
// interfaces, holding only the methods it calls: rockond plugs in *systemd
// and *engine.Engine, the unit tests in-memory fakes, so that the install,
// apply and rollback decisions are tested without a host (the sandbox tests
// run the real ones).

// unitManager is what the manager asks of systemd.
type unitManager interface {
	reload(ctx context.Context) error
	enable(ctx context.Context, units []string) error
	disable(ctx context.Context, units []string) error
	// job runs start, stop or restart of a unit and waits for its result.
	job(ctx context.Context, verb, unit string, timeout time.Duration) error
	// startNoWait queues a start without waiting for it.
	startNoWait(ctx context.Context, unit string) error
	resetFailed(ctx context.Context, unit string)
	info(ctx context.Context, unit string) (unitInfo, error)
	loaded(ctx context.Context, patterns ...string) (map[string]bool, error)
	// logTail returns the last n lines a unit logged.
	logTail(ctx context.Context, unit string, n int) string
}

// containerEngine is what the manager asks of docker or podman.
type containerEngine interface {
	// Images inspects images with one engine process; the missing ones
	// are not in the map.
	Images(ctx context.Context, refs []string) (map[string]engine.Image, error)
	Pull(ctx context.Context, ref string, progress engine.Progress) error
	Tag(ctx context.Context, src, dst string) error
	RemoveImage(ctx context.Context, ref string) error
	RepoDigests(ctx context.Context, image string) ([]string, error)
	RegistryDigest(ctx context.Context, ref string) (string, error)
	// ExistingContainers returns which of names the engine has.
	ExistingContainers(ctx context.Context, names []string) ([]string, error)
	ContainerRunning(ctx context.Context, name string) (bool, error)
	ContainerAddrs(ctx context.Context, name string) (bool, []string, error)
	RemoveContainer(ctx context.Context, name string) error
	VolumeExists(ctx context.Context, name string) (bool, error)
	RemoveVolume(ctx context.Context, name string) error
	NetworkExists(ctx context.Context, name string) (bool, error)
	NetworkLabels(ctx context.Context, name string) (map[string]string, error)
	RemoveNetwork(ctx context.Context, name string) error
	Storage(ctx context.Context) (string, error)
	// Follow runs the engine's container event stream.
	Follow(ctx context.Context, f func(engine.Event)) error
}

var (
	_ unitManager     = (*systemd)(nil)
	_ containerEngine = (*engine.Engine)(nil)
)
