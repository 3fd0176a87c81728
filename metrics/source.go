// Package metrics exports rockond's view of the catalog, the installed
// rock-ons and their containers, and the work the daemon does, in the
// Prometheus exposition format.
//
// State metrics are not kept in long-lived gauges: at every scrape the
// Collector asks a Source for a fresh Snapshot (the daemon builds it from
// systemd's own view of the units) and turns it into metric families. Work
// done between scrapes (operations, image pulls, catalog refreshes) is
// counted by a Recorder that the daemon calls as it goes.
//
// Wiring, in the daemon:
//
//	ln, err := metrics.Listen(cfg.Listen) // before READY=1; nil when off
//	rec := metrics.NewRecorder()          // passed to the code doing the work
//	go metrics.Serve(ctx, ln, metrics.Handler(metrics.NewRegistry(src, rec)), web)
//
// Nothing here touches the default Prometheus registry: NewRegistry builds a
// private one.
package metrics

import "time"

// Source is what the daemon implements to expose its state. Snapshot is
// called once per scrape, possibly from several goroutines at once when
// scrapes overlap; it must not block for long (a scrape has a deadline) and
// should read systemd's state, not poll on its own schedule.
type Source interface {
	Snapshot() Snapshot
}

// Snapshot is the state of the daemon at one instant.
type Snapshot struct {
	Catalog CatalogSnapshot
	RockOns []RockOnSnapshot
	// Err, when set, says the snapshot is incomplete (for instance systemd
	// could not be asked about some units). What the snapshot does hold is
	// still exported, and rockon_snapshot_success drops to 0.
	Err error
}

// CatalogSnapshot describes the catalog the daemon currently knows.
//
// Refresh durations and failures are not part of the snapshot: the daemon
// reports each refresh attempt to Recorder.ObserveRefresh.
type CatalogSnapshot struct {
	// Entries is the number of rock-on definitions in the catalog.
	Entries int
	// LastRefresh is when the catalog was last refreshed successfully, as
	// far as the daemon knows at startup (for instance the modification
	// time of a cached copy). Zero when unknown. The exported timestamp is
	// the later of this and the last success seen by the Recorder.
	LastRefresh time.Time
}

// RockOnSnapshot is one installed rock-on.
type RockOnSnapshot struct {
	Name    string // rock-on name as in the catalog, e.g. "Syncthing"
	Version string // version of the installed definition (may be empty)
	Engine  string // "docker" or "podman"
	// State is one of the States constants; anything else is exported as
	// StateUnknown.
	State string
	// DesiredRunning: the rock-on is turned on (wanted running and
	// started at boot), as opposed to stopped.
	DesiredRunning bool
	Containers     []ContainerSnapshot
	// UpdateChecked: an update check ran since the rock-on was installed or
	// last updated; UpdateAvailable is then its answer.
	UpdateChecked, UpdateAvailable bool
}

// ContainerSnapshot is one container of a rock-on, as seen through its
// systemd unit.
type ContainerSnapshot struct {
	Name        string // container name from the definition
	Unit        string // systemd unit wrapping it, e.g. "rockon-syncthing-syncthing.service"
	ActiveState string // systemd ActiveState: one of ActiveStates, anything else is exported as "unknown"
	SubState    string // systemd SubState, e.g. "running", "auto-restart", "dead"
	NRestarts   uint64 // systemd NRestarts: automatic restarts since the unit was last started by hand
	// StartTime is when the unit last entered the active state (systemd's
	// ActiveEnterTimestamp). Zero when it never did; the start time series
	// is then left out.
	StartTime time.Time
}

// Rock-on states. The daemon maps its own view (desired state plus the
// units' ActiveState) to exactly one of these.
const (
	StateInstalling   = "installing"   // being installed: images pulled, units written
	StateStarting     = "starting"     // desired on, some units still activating
	StateRunning      = "running"      // desired on, every container unit active
	StateDegraded     = "degraded"     // desired on, some containers active, others not
	StateStopping     = "stopping"     // desired off, some units still deactivating
	StateStopped      = "stopped"      // desired off, every unit inactive
	StateFailed       = "failed"       // desired on, no container running and at least one failed
	StateUpdating     = "updating"     // an update or reconfiguration is in progress
	StateUninstalling = "uninstalling" // being removed
	StateUnknown      = "unknown"      // anything the daemon cannot classify
)

// States lists every rock-on state, in the order rockon_rockon_state
// exports them. Every state gets a series for every rock-on so that
// queries such as rockon_rockon_state{state="running"} == 0 see all of them.
var States = []string{
	StateInstalling, StateStarting, StateRunning, StateDegraded, StateStopping,
	StateStopped, StateFailed, StateUpdating, StateUninstalling, StateUnknown,
}

// ActiveStates lists the systemd unit active states exported one-hot by
// rockon_container_state, plus "unknown" for anything else (a unit systemd
// no longer knows, a state added by a later systemd).
var ActiveStates = []string{
	"active", "reloading", "inactive", "failed", "activating", "deactivating", "unknown",
}
