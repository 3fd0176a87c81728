package model

// Host is what compiling units needs to know of the machine they run on:
// the engine and where files live. rockond.toml holds it (state.Config.Host
// reads it out of the file's sections); unitgen.Options carries it, so the
// configuration and the compiler share this one shape instead of one
// converting to the other.
type Host struct {
	Engine       string // "docker" or "podman"
	EngineBinary string // default /usr/bin/docker or /usr/bin/podman
	SharesRoot   string // where named shares live, default /mnt2
	EnvDir       string // directory of the root-only env files, default /var/lib/rockon/env
	// AllowedRoots are, besides SharesRoot, the directories a volume's
	// host directory must resolve into (rockond.toml's allowed_roots).
	AllowedRoots []string
}
