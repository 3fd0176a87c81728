package dbus

import (
	"context"

	"github.com/rockon/rockon/model"
)

// Backend is what the server exports; the daemon implements it. Every
// method may be called from many goroutines at once.
type Backend interface {
	RefreshCatalog(ctx context.Context) (int, error)
	List(installedOnly bool) []model.Summary
	// ManagerProperties describes the daemon as a whole.
	ManagerProperties() model.ManagerProperties
	// Properties returns the properties of a catalog or installed
	// rock-on, by name or slug.
	Properties(name string) (model.Properties, error)
	Definition(name string) (string, error)
	// Consent lists the consents installing the rock-on (its catalog
	// definition) needs, sorted by token.
	Consent(name string) ([]model.Consent, error)
	// PortUse suggests free host ports for the rock-on's ports and lists
	// the host ports bound on the host, except the rock-on's own.
	PortUse(name string) ([]model.PortSuggestion, []model.BoundPort, error)
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
	CheckUpdates(ctx context.Context, names []string) ([]model.UpdateCheck, error)
	// AutoUpdate checks and updates, one at a time, the rock-ons the
	// administrator opted in; one line per rock-on says what was done.
	AutoUpdate(ctx context.Context) ([]string, error)
	// SetAutoUpdate opts an installed rock-on in to (or out of) the
	// automatic update.
	SetAutoUpdate(name string, on bool) error
	Begin(op model.Operation) (run func(ctx context.Context, report model.Report) error, err error)
	// Watch registers f, called with a rock-on's name (or slug) whenever
	// its properties may have changed, and with "" when the set of
	// rock-ons changed.
	Watch(f func(name string))
	// Diagnose checks what a working set-up needs (`rockon doctor`).
	Diagnose(ctx context.Context) []model.Check
}
