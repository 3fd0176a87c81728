package dbus

import (
	"context"

	"github.com/rockon/rockon/model"
)

// Operation is a change a caller asks for.
type Operation struct {
	Kind string // install, uninstall, start, stop, restart, update, reconfigure
	Name string // rock-on name (or slug)
	// Choices (install, reconfigure), decoded by the server.
	Choices model.Choices
	Start   bool // install: start once installed
	// RemoveImages (uninstall): also remove the rock-on's images that no
	// other installed rock-on uses, as Rockstor's delete-rockon does.
	RemoveImages bool
	// Purge (uninstall): also remove the named volumes rockon made for
	// the images' VOLUMEs.
	Purge bool
	// Definition (install): the definition JSON to install instead of
	// the catalog's (a restore brings back the version that was
	// installed); it must define Name.
	Definition string
	// DryRun (install): check everything an install checks (choices,
	// host paths, ports, consent, names) and install nothing: Begin
	// returns a nil function when all is well.
	DryRun bool
}

// Report is how a running operation tells its progress (0..1) and step.
type Report func(progress float64, message string)

// Backend is what the server exports; the daemon implements it. Every
// method may be called from many goroutines at once.
type Backend interface {
	RefreshCatalog(ctx context.Context) (int, error)
	List(installedOnly bool) []Summary
	// ManagerProperties describes the daemon as a whole.
	ManagerProperties() ManagerProperties
	// Properties returns the properties of a catalog or installed
	// rock-on, by name or slug.
	Properties(name string) (Properties, error)
	Definition(name string) (string, error)
	// Consent lists the consents installing the rock-on (its catalog
	// definition) needs, sorted by token.
	Consent(name string) ([]Consent, error)
	// PortUse suggests free host ports for the rock-on's ports and lists
	// the host ports bound on the host, except the rock-on's own.
	PortUse(name string) ([]PortSuggestion, []BoundPort, error)
	// Shares lists the shares root and the names of the directories in
	// it (sorted, at most MaxShares).
	Shares() (root string, names []string, err error)
	Config(name string) (string, error)
	// Backup returns the backup file (package backup) of rockond's
	// configuration and every installed rock-on.
	Backup() (string, error)
	// Export writes an installed rock-on as Kubernetes manifests
	// (format "kube"; pvc: claims instead of host directories) or a
	// Compose file ("compose"), with what does not carry over.
	Export(name, format string, pvc bool) (yaml string, warnings []string, err error)
	// Begin checks op (arguments, existence, not busy) and reserves the
	// rock-on; the returned function does the work and releases it. An
	// error from Begin is the method call's error.
	// CheckUpdates asks the registries, without pulling, whether the tag
	// of each container of the named installed rock-ons (all when names is
	// empty) points at an image other than the one it runs.
	CheckUpdates(ctx context.Context, names []string) ([]UpdateCheck, error)
	// AutoUpdate checks and updates, one at a time, the rock-ons the
	// administrator opted in; one line per rock-on says what was done.
	AutoUpdate(ctx context.Context) ([]string, error)
	Begin(op Operation) (run func(ctx context.Context, report Report) error, err error)
	// Watch registers f, called with a rock-on's name (or slug) whenever
	// its properties may have changed, and with "" when the set of
	// rock-ons changed.
	Watch(f func(name string))
	// Diagnose checks what a working set-up needs (`rockon doctor`).
	Diagnose(ctx context.Context) []Check
}
