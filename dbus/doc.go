// Package dbus is rockond's D-Bus API: the names, the wire types, the named
// errors, the server that exports a Backend on a bus connection, and the Go
// client the command-line tool uses.
//
// Bus name:   org.rockon.rockon1 (system bus)
//
// Objects:
//
//	/org/rockon/rockon1                     org.rockon.rockon1.Manager
//	/org/rockon/rockon1/rockon/<slug>       org.rockon.rockon1.RockOn (one per catalog or installed rock-on;
//	                                         the slug is path-encoded: every byte other than [A-Za-z0-9] is _xx)
//	/org/rockon/rockon1/job/<id>            org.rockon.rockon1.Job    (while the job runs)
//
// Manager methods (reads are open to every caller; the others need root or
// the polkit action named next to them):
//
//	RefreshCatalog() -> (u entries)                          org.rockon.rockon1.refresh-catalog
//	ListRockOns(b installed_only) -> (a(ssssbsso) rockons)   name, slug, version, description, installed, desired state, state, object
//	ListStatuses(b installed_only) -> (a(sssbssuuso) statuses) name, slug, version, installed, desired state, state,
//	                                                          containers running, containers, UI address, object: the
//	                                                          state of every rock-on (installed ones: installed or
//	                                                          installing) in one flat reply, as the objects' properties
//	                                                          have it; this shape is fixed (another is another method)
//	GetRockOn(s name) -> (o rockon)
//	GetDefinition(s name) -> (s json)                        the catalog definition, as the registry file has it
//	GetConsent(s name) -> (a(ss) consent)                    the consents installing it needs (Choices "consent"):
//	                                                          token and why it is risky (unitgen.ConsentReason)
//	GetPortUse(s name) -> (a(susu) suggested, a(us) bound)   free host ports for its ports (container, container
//	                                                          port, protocol, host port: 0 when none is free), and
//	                                                          the ports bound on the host (port, protocol) but its own
//	ListShares() -> (s root, as shares)                      the shares root and its directories' names (sorted, at
//	                                                          most MaxShares): what a volume's share name may be
//	GetConfig(s name) -> (s toml)                            the install choices (secrets included)          org.rockon.rockon1.manage
//	Export(s name, s format, a{sv} options) -> (s yaml, as warnings)                                         org.rockon.rockon1.manage
//	    an installed rock-on as Kubernetes manifests (format "kube"; option "pvc" (b): claims instead of
//	    host directories) or a Compose file ("compose"), environment values included; warnings: what
//	    does not carry over (also comments of the YAML)
//	Install(s name, a{sv} choices, a{sv} options) -> (o job) org.rockon.rockon1.manage
//	Uninstall(s name) -> (o job)                             org.rockon.rockon1.manage
//	UninstallWithOptions(s name, a{sv} options) -> (o job)   org.rockon.rockon1.manage
//	    options: "remove_images" (b) also removes its images no other installed rock-on uses;
//	    "purge" (b) also removes the named volumes rockon made for its images' VOLUMEs
//	Start(s name) -> (o job), Stop, Restart                  org.rockon.rockon1.manage
//	Update(s name) -> (o job)                                org.rockon.rockon1.manage
//	Reconfigure(s name, a{sv} choices) -> (o job)            org.rockon.rockon1.manage
//	AutoUpdate() -> (as lines)                               org.rockon.rockon1.manage
//	    the opt-in automatic update, now: one line per rock-on
//	SetAutoUpdate(s name, b on)                              org.rockon.rockon1.manage
//	    opts an installed rock-on in to the automatic update (rockon-auto-update.timer), or out
//	CheckUpdates(as names) -> (a(sssssbs) checks)            org.rockon.rockon1.refresh-catalog
//	    one per container of the named installed rock-ons (all when empty): rock-on, container,
//	    image, current digest, registry digest, update available, error; asks the registries, pulls nothing
//
// choices: either "config" (s), the install-config TOML text
// (model.Choices, the format of `rockon install --config`), or the same
// structure as D-Bus values: "containers" a{sa{sv}} (container ->
// "ports" a{su}, "volumes" a{ss}, "env" a{ss}, "devices" a{ss}, "labels"
// a{ss}, "networks" as, each setting of model.Settings s: "memory", "cpus", ...),
// "custom_config" a{ss}, "consent" as. options: "start" (b, default
// true) starts the rock-on once installed; "definition" (s) installs this definition JSON
// instead of the catalog's (it must define the name; restore); "dry_run" (b) checks
// everything an install checks and installs nothing (the job path is then "/").
//
//	Backup() -> (s toml)                                     org.rockon.rockon1.backup
//	    rockond's configuration and every installed rock-on's definition, choices (secrets
//	    included), desired state and auto-update opt-in (package backup's format); `rockon
//	    restore` installs them again with Install's "definition" option, then SetAutoUpdate
//
// The manager's path also implements org.freedesktop.DBus.ObjectManager
// (GetManagedObjects, InterfacesAdded, InterfacesRemoved) over the rock-on
// objects.
//
// Manager signals: JobNew(u id, o job, s rockon, s kind) and
// JobRemoved(u id, o job, s rockon, s result, s error, s message); result
// is "done" or "failed", error the D-Bus error name of a failure. A client subscribes before calling, then waits for the
// JobRemoved of the path it got back.
//
// RockOn properties (read-only, PropertiesChanged carries the changed ones):
//
//	Name, Slug, Version, Description, Website  s   from the definition (HTML as in the registry)
//	Installed                                 b
//	DesiredState                              s   "on" (running, started at boot), "off", "" when not installed
//	State                                     s   running, starting, degraded, failed, stopping, stopped,
//	                                              installing, updating, uninstalling, not-installed, unknown
//	Engine, Target                            s   "podman"/"docker"; the unit toggled, rockon-<slug>.target
//	UIURL                                     s   http(s)://localhost:<ui port>/<ui slug> when the rock-on has a UI
//	Containers  a(sssssssiuts)  name, unit, state (running, starting, restarting, stopping, stopped,
//	                            failed, exited, unknown), systemd ActiveState, SubState, image, image ID,
//	                            exit status, NRestarts, last change (µs), last journal lines when failed
//	Ports       a(susub)        container, container port, protocol, host port (0: not published), UI port
//	Volumes     a(sss)          container, container path, host directory
//	InstalledAt, UpdatedAt      t   µs since the epoch
//	LastError                   s   the last failed operation's error
//	UpdateAvailable             b   the last CheckUpdates found a newer image for a container
//	AutoUpdate                  b   the automatic update updates it (SetAutoUpdate)
//
// Environment values and custom config are never in properties (they may
// be secrets; they are also redacted from LastError and log lines): read
// them with GetConfig, which needs authorization.
//
// Manager properties: Version s, Engine s, CatalogEntries u,
// CatalogRefreshedAt t (µs), Installed u, Running u.
//
// Job properties: Id u, RockOn s, Kind s, State s (running, done, failed),
// Progress d (0..1), Message s (current step, pull output).
//
// Errors are org.rockon.rockon1.Error.<Name>: NoSuchRockOn, NotInstalled,
// AlreadyInstalled, PortInUse, InvalidArgs (the message names the field),
// AccessDenied, Busy, Failed.
package dbus

// Names of the service.
const (
	BusName          = "org.rockon.rockon1"
	ManagerPath      = "/org/rockon/rockon1"
	ManagerInterface = "org.rockon.rockon1.Manager"
	RockOnInterface  = "org.rockon.rockon1.RockOn"
	JobInterface     = "org.rockon.rockon1.Job"
	RockOnPathPrefix = "/org/rockon/rockon1/rockon"
	JobPathPrefix    = "/org/rockon/rockon1/job"
	ErrorPrefix      = "org.rockon.rockon1.Error."
)

// Polkit actions; packaging installs their .policy from this list.
const (
	// ActionManage covers every change to rock-ons: install, uninstall,
	// start, stop, restart, update, reconfigure, and reading the install
	// choices (they may hold secrets).
	ActionManage = "org.rockon.rockon1.manage"
	// ActionRefreshCatalog covers fetching the catalog again.
	ActionRefreshCatalog = "org.rockon.rockon1.refresh-catalog"
	// ActionBackup covers reading the backup of every rock-on's settings,
	// secrets included.
	ActionBackup = "org.rockon.rockon1.backup"
)

// Actions lists every polkit action id with a one-line description.
var Actions = map[string]string{
	ActionManage:         "Install, remove, start, stop, update and reconfigure rock-ons",
	ActionRefreshCatalog: "Refresh the rock-on catalog",
	ActionBackup:         "Back up the rock-ons' settings, secrets included",
}
