package model

import (
	"slices"
	"strings"

	godbus "github.com/godbus/dbus/v5"
)

// The read views the API serves: what ListRockOns, GetProperties and the
// other read methods return, as the daemon builds them.

// SortByName sorts views the way lists show them: by name, case ignored,
// equal names in their given order. Each name is lowered once (lowering
// in the comparison was two allocations a comparison, two thirds of
// ListRockOns' time with 200 installed).
func SortByName[T any](l []T, name func(*T) string) {
	type keyed struct {
		key string
		v   T
	}
	k := make([]keyed, len(l))
	for i := range l {
		k[i] = keyed{strings.ToLower(name(&l[i])), l[i]}
	}
	slices.SortStableFunc(k, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	for i := range k {
		l[i] = k[i].v
	}
}

// Summary is one element of ListRockOns.
type Summary struct {
	Name         string
	Slug         string
	Version      string
	Description  string
	Installed    bool
	DesiredState string // "on", "off", or "" when not installed
	State        string
	Path         godbus.ObjectPath // filled by the D-Bus server
}

// Status is one element of ListStatuses: a rock-on's state as `rockon
// status` lists every installed one, without the per-container detail
// (Properties has it). Its D-Bus shape, (sssbssuuso), is part of the API:
// a later change of the fields is a new method, not a change of this one.
type Status struct {
	Name         string
	Slug         string
	Version      string
	Installed    bool
	DesiredState string // on, off, "" when not installed
	State        string // as Properties.State
	Running      uint32 // containers whose State is running
	Containers   uint32 // containers in all
	UIURL        string
	Path         godbus.ObjectPath // its object
}

// Container is the live state of one container of an installed rock-on,
// as systemd reports its unit.
type Container struct {
	Name        string
	Unit        string
	State       string // running, starting, restarting, stopped, failed
	ActiveState string // systemd's
	SubState    string // systemd's
	Image       string
	ImageID     string
	ExitCode    int32  // of the main process when it last exited
	Restarts    uint32 // systemd's NRestarts
	Since       uint64 // µs since the epoch of the last state change
	LastLog     string // last journal lines when failed
}

// Port is a published (or publishable) port.
type Port struct {
	Container     string
	ContainerPort uint32
	Protocol      string
	HostPort      uint32 // 0: not published
	UI            bool
}

// Volume is a container path mapped to a host directory.
type Volume struct {
	Container string
	Path      string
	Host      string
}

// Properties are the read-only properties of a RockOn object.
type Properties struct {
	Name         string
	Slug         string
	Version      string
	Description  string
	Website      string
	Installed    bool
	DesiredState string // on, off, "" when not installed
	State        string // running, stopped, degraded, failed, starting, stopping, installing, uninstalling, updating, not-installed
	Engine       string
	Target       string
	UIURL        string
	Containers   []Container
	Ports        []Port
	Volumes      []Volume
	InstalledAt  uint64 // µs since the epoch
	UpdatedAt    uint64
	LastError    string
	// UpdateAvailable: the last update check found, for at least one
	// container, a registry digest for its tag other than the image it
	// runs. False until a check ran.
	UpdateAvailable bool
	// AutoUpdate: the rock-on is updated by the automatic update (opted
	// in with SetAutoUpdate, or listed in rockond.toml's [update] auto).
	AutoUpdate bool
}

// Consent is one risky privilege a definition's engine options ask for:
// the token Choices.Consent must list to install it, and why it is risky.
type Consent struct {
	Token  string `json:"token"`
	Reason string `json:"reason"`
}

// PortSuggestion is a free host port for one container port of a
// definition (catalog.DefaultHostPorts).
type PortSuggestion struct {
	Container     string `json:"container"`
	ContainerPort uint32 `json:"container_port"`
	Protocol      string `json:"protocol"`  // as in the definition: tcp, udp, "" for both
	HostPort      uint32 `json:"host_port"` // 0 when no port is free
}

// BoundPort is a host port a socket is bound to on the host (a service of
// the host, or a published container port).
type BoundPort struct {
	Port     uint32 `json:"port"`
	Protocol string `json:"protocol"`
}

// MaxShares bounds ListShares' answer: a reply of every entry of a huge
// directory would be a cheap way for any caller to make rockond work.
const MaxShares = 1000

// UpdateCheck is one container's answer to CheckUpdates.
type UpdateCheck struct {
	Name            string `json:"name"`      // rock-on
	Container       string `json:"container"` // container name from the definition
	Image           string `json:"image"`     // fully qualified reference, with its tag
	CurrentDigest   string `json:"current_digest"`
	LatestDigest    string `json:"latest_digest"`
	UpdateAvailable bool   `json:"update_available"`
	// Error says why this container could not be checked (registry
	// unreachable, unknown tag, a local-only image); the digests it could
	// not learn are empty.
	Error string `json:"error,omitempty"`
}

// ManagerProperties are the read-only properties of the Manager object.
type ManagerProperties struct {
	Version            string // rockond's version
	Engine             string // docker or podman
	CatalogEntries     uint32
	CatalogRefreshedAt uint64 // µs since the epoch, 0 when never
	Installed          uint32
	Running            uint32
}

// Check is one finding of Diagnose (`rockon doctor`): what a working
// set-up needs, as rockond sees it under its unit's confinement.
type Check struct {
	Name   string // stable identifier: "engine", "storage", "rockon:NAME", ...
	Status string // CheckOK, CheckWarn or CheckFail
	Detail string // what was found
	Fix    string // how to fix a miss; "" when the check passed
}

// Check statuses. A warning is a miss that leaves what works working (the
// catalog's last good copy serves while the remote one cannot be fetched).
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)
