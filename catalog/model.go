// Package catalog reads Rockstor rock-on definitions (the rockon-registry
// format) into a typed model, validates them, and keeps a catalog fetched from
// remote and local metastores.
package catalog

import (
	"encoding/json"
	"fmt"
	"strings"
)

// RockOn is one app definition: the value under the single top-level key of
// a registry file. Slices that come from JSON objects are sorted so that
// everything built from a RockOn is deterministic.
type RockOn struct {
	Name             string        // the top-level key, e.g. "Immich"
	Description      string        // HTML, as in the registry
	Version          string        // free-form
	Website          string        // URL
	Icon             string        // URL, optional
	MoreInfo         string        // HTML, optional
	UI               *UI           // nil when the rock-on has no web UI
	VolumeAddSupport bool          // the user may map extra shares
	Containers       []Container   // sorted by LaunchOrder, then Name
	Links            []Link        // container_links, sorted by Target, Network
	CustomConfig     []CustomField // sorted by Key

	// Raw is the definition's JSON exactly as read (the whole file's
	// top-level object), kept so that an installed rock-on records what it
	// was installed from byte for byte. A file may define several rock-ons;
	// each then carries the whole file, and decoding Raw again and picking
	// the rock-on by Name gives the same definition back.
	Raw json.RawMessage

	// File is the file name or URL the definition was read from.
	File string
	// Warnings are problems that do not prevent using the definition, such
	// as opts rockon drops because they cannot work under systemd.
	Warnings []Problem
}

// UI describes the web interface link: http(s)://HOST:UIPORT/Slug.
type UI struct {
	Slug  string
	HTTPS bool
}

// Container is one container of a rock-on.
type Container struct {
	Name        string
	Image       string
	Tag         string // "latest" when the definition has none
	LaunchOrder int
	// UID and GID are nil when absent. UID -1 means the owner of the first
	// volume's host directory; GID -1 its group, GID -2 the docker group.
	UID, GID *int
	Ports    []Port   // sorted by ContainerPort, then Protocol
	Volumes  []Volume // in the definition's order (Rockstor: uid -1 is the first one's owner)
	Env      []Env    // sorted as Rockstor does: by Index, then Name
	Devices  []Device // sorted by Index, then Name
	Opts     []Pair   // in definition order
	CmdArgs  []Pair   // in definition order
}

// Pair is an opts or cmd_arguments element: two strings, the second empty
// for a bare flag or argument.
type Pair [2]string

// Port is a container port the user may publish on the host.
type Port struct {
	ContainerPort int
	HostDefault   int
	Protocol      string // "tcp", "udp", or "" meaning both, as in Rockstor
	UI            bool   // the port the web UI is served on
	Label         string
	Description   string
}

// Protocols lists the protocols the port is published for.
func (p Port) Protocols() []string {
	if p.Protocol == "" {
		return []string{"tcp", "udp"}
	}
	return []string{p.Protocol}
}

// Volume is a container path the user maps to a host directory or share.
type Volume struct {
	Path        string
	Label       string
	Description string
	MinSize     int64 // bytes, 0 when not given
}

// Env is an environment variable the user fills in.
type Env struct {
	Name        string
	Label       string
	Description string
	Index       int // 0 when not given
}

// Device is a host device the user may pass to the container; its value is
// a path the user supplies, and leaving it empty is allowed.
type Device struct {
	Name        string
	Label       string
	Description string
	Index       int
}

// Link is one container_links entry: a network named Network joining
// Source to Target.
type Link struct {
	Target  string
	Network string
	Source  string
}

// CustomField is a custom_config entry whose value the user supplies.
type CustomField struct {
	Key         string
	Label       string
	Description string
}

// Container returns the container with the given name.
func (r *RockOn) Container(name string) (*Container, bool) {
	for i := range r.Containers {
		if r.Containers[i].Name == name {
			return &r.Containers[i], true
		}
	}
	return nil, false
}

// UIURL is the web UI link as Rockstor shows it: a rock-on has one when
// any of its ports is marked "ui" and published (hostPort > 0), whether
// or not the definition has a top-level "ui" object:
// http(s)://HOST:HOSTPORT[/SLUG], https and the slug from ui when given.
// hostPort is the host port of the first port marked "ui"; "" when there
// is no such port.
func UIURL(ui *UI, host string, hostPort int) string {
	if hostPort <= 0 {
		return ""
	}
	scheme, slug := "http", ""
	if ui != nil {
		if ui.HTTPS {
			scheme = "https"
		}
		slug = strings.TrimPrefix(ui.Slug, "/")
	}
	u := fmt.Sprintf("%s://%s:%d", scheme, host, hostPort)
	if slug != "" {
		u += "/" + slug
	}
	return u
}
