// Package unitgen compiles an installed rock-on (its definition plus the
// user's choices) into systemd unit files that run its containers. It is a
// pure function: no filesystem, exec or network; the daemon writes what it
// returns. (compilecmd.go holds the few helpers that read the host, for the
// CLI and the daemon: install-config files, stat-based owner lookups.)
//
// What a unit runs is what Rockstor runs (docker run with the definition's
// volumes, /etc/localtime, devices, user, ports, opts, env, labels, image
// and arguments), with systemd as the supervisor instead of the engine's
// restart policy: the container runs in the foreground, is removed when it
// stops and recreated when it starts, and is restarted whenever it exits
// (as with Rockstor's --restart=unless-stopped).
//
// Every value from a definition or from the user reaches the command line
// byte for byte or is refused: each argv word is double-quoted with C
// escapes, "%" and "$" doubled (see quoteExecWord); environment values go
// to a root-only env file, never into unit text; values an env file or an
// engine cannot carry (NUL, line breaks, invalid UTF-8) are refused naming
// the field. Units are built from an ordered model with one writer, never
// from text templates, so output is deterministic.
package unitgen

import (
	"io/fs"

	"github.com/rockon/rockon/model"
)

// Options are how the host runs containers. Host comes from rockond.toml
// (state.Config.Host); HostOptions adds this host's lookups.
type Options struct {
	model.Host
	// VolumeCheck is the absolute path of rockond. When set, every unit
	// of a container with volumes runs `VolumeCheck check-volumes` before
	// each start (systemd's restarts and boot included), which refuses to
	// start it when a host path now resolves outside the allowed roots or
	// into a system directory (see CheckVolumeDir). Empty: no such check
	// (`rockon compile` offline).
	VolumeCheck string

	// PathOwner returns the owner and group of a host directory. It
	// resolves uid -1 / gid -1 (the first volume's owner and group); the
	// daemon fills it with a stat of the path. Compile fails when a
	// definition needs it and it is nil.
	PathOwner func(path string) (uid, gid int, err error)
	// DockerGID returns the docker group's id, for gid -2.
	DockerGID func() (int, error)
	// ImageVolumes maps a container name to the VOLUMEs its image
	// declares (the daemon inspects the image after pulling it). Each
	// one the definition does not mount exactly gets a named volume of
	// the rock-on (Result.Volumes), so its data outlives the container.
	ImageVolumes map[string][]string
}

// File is one generated file.
type File struct {
	Name    string // base name, e.g. "rockon-immich.target"
	Content []byte
	Mode    fs.FileMode // 0644 for units, 0600 for env files
}

// Result is the output of Compile.
type Result struct {
	Slug     string // e.g. "immich"
	Target   string // the unit the user toggles, "rockon-<slug>.target"
	Units    []File // for the unit directory, sorted by name
	EnvFiles []File // for Options.EnvDir, sorted by name
	Warnings []string
	// Ports are the host ports the rock-on takes (TakenPorts).
	Ports []TakenPort

	// Containers maps every container to its unit, in launch order.
	Containers []ContainerUnit
	// Networks are the engine networks that belong to this rock-on alone
	// (named rockon-<slug>-...): the units create them and the daemon
	// removes them on uninstall. They are the EngineNetworks that are not
	// Shared.
	Networks []string
	// EngineNetworks are all the engine networks the units create, each
	// with its unit and whether it is shared by name (see Network).
	EngineNetworks []Network
	// Volumes are the named volumes the units mount for image-declared
	// VOLUMEs (see Options.ImageVolumes), in launch order. The engine
	// creates them at the first start; they stay through stop, start,
	// update and uninstall, and only an uninstall with purge removes them.
	Volumes []NamedVolume
}

// SharedNetworkLabel is the label the unit of a shared-by-name network puts
// on the network when it creates it (value: the slug of the rock-on that
// created it). A network without it existed before rockon needed it.
const SharedNetworkLabel = "org.rockon.created-by"

// Network is one engine network a rock-on's units create.
type Network struct {
	Name string // the engine network name
	Unit string // the oneshot unit that creates it if missing
	// Shared is true for a user-defined network the definition names
	// itself (--net=NAME, e.g. AdGuard Home's adguard-home): its name is
	// kept exactly as written. It belongs to the administrator, who makes
	// it (AdGuard Home's guide: a macvlan) before the install; the daemon
	// refuses the install while it is missing, its unit only checks that
	// it exists, and rockon never creates it. (Older versions of rockon
	// created missing ones, labelled SharedNetworkLabel.)
	//
	// The rule for uninstalling a rock-on R: remove a Shared network N
	// only when no other installed rock-on lists N among its
	// EngineNetworks, and N carries SharedNetworkLabel (rockon created
	// it; a network the administrator made is never removed). If the
	// engine refuses because containers outside rockon are still
	// attached, N stays: that is not an uninstall error. A network that
	// is not Shared is R's alone and is always removed.
	Shared bool
	// UserAdded is true for a Shared network the user joined containers
	// to (model.Choices networks, Rockstor's rocknets) and no definition names:
	// its unit creates it when missing, labelled SharedNetworkLabel.
	UserAdded bool
}

// ContainerUnit tells which unit runs a container.
type ContainerUnit struct {
	Name string // the container name, as in the definition and the engine
	Unit string // e.g. "rockon-immich-immich-server.service"
	// Data is true for a data-only container: a oneshot unit that creates
	// the container once and keeps it (see Compile).
	Data bool
	// Run is what the unit runs, engine-neutral: what another runner
	// (a Kubernetes pod, a Compose service) needs to run the same
	// container the same way.
	Run Run
}

// Run is what Compile decided a container runs: the image, its arguments
// and everything the definition and the choices give it. It describes the
// units' command lines without the engine's or systemd's own options.
type Run struct {
	Image string   // the image reference, as pulled
	Args  []string // the words after the image (the definition's cmd_arguments)
	// HostNetwork is true for a container on the host's network
	// (--net=host): it publishes nothing, its ports are the host's.
	HostNetwork bool
	Ports       []PublishedPort // published ports, in definition order
	// Mounts are the volumes: host directories (the definition's, then
	// extra ones), then named volumes for the image's VOLUMEs, then
	// /etc/localtime read-only.
	Mounts []Mount
	// Env is the container's environment, in the env file's order. Its
	// values may be secrets.
	Env     []EnvVar
	Devices []string // host device paths passed (--device)
	User    string   // the -u value ("uid" or "uid:gid"), "" for the image's
	// Networks are the engine networks it joins (container_links, podman's
	// translation of --link, the user's networks); Aliases its names on
	// them besides its own.
	Networks []string
	Aliases  []string
	// Opts are the definition's engine options the unit passes on (those
	// systemd's supervision makes pointless are dropped), parsed.
	Opts   []Opt
	Labels map[string]string
	// MemoryBytes (0: none) and CPUs ("": none) are the limits chosen
	// (model.ContainerChoices).
	MemoryBytes int64
	CPUs        string
}

// PublishedPort is a container port published on a host port.
type PublishedPort struct {
	Host      int
	Container int
	Protocol  string // "tcp" or "udp"
}

// Mount is one volume of a container.
type Mount struct {
	// Source is an absolute host path, or the name of an engine volume
	// when Named.
	Source   string
	Path     string // in the container
	ReadOnly bool
	Named    bool
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name, Value string
}
