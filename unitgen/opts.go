package unitgen

import (
	"path"
	"slices"
	"strings"

	"github.com/rockon/rockon/catalog"
)

// opt is one catalog opts pair understood as a command-line option:
// ["--net=host", ""] and ["--net", "host"] both give flag "--net", value
// "host". The pair itself is what is passed on (Rockstor semantics: the
// name, then the value if non-empty).
type opt struct {
	flag, value string
	hasValue    bool
	pair        catalog.Pair
}

func parseOpt(p catalog.Pair) opt {
	o := opt{pair: p, flag: p[0]}
	if strings.HasPrefix(p[0], "--") {
		if f, v, ok := strings.Cut(p[0], "="); ok {
			o.flag, o.value, o.hasValue = f, v, true
		}
	} else if len(p[0]) > 2 && p[0][0] == '-' {
		// The engines' flag parser reads "-v=X", "-vX" and clusters of
		// boolean letters before a value flag ("-tv X") as "-v X": the
		// consent checks must see the same.
		rest := strings.TrimLeft(p[0][1:], "ditP")
		if rest != "" {
			o.flag = "-" + rest[:1]
			if v := strings.TrimPrefix(rest[1:], "="); rest[1:] != "" {
				o.value, o.hasValue = v, true
			}
		}
	}
	if !o.hasValue && p[1] != "" {
		o.value, o.hasValue = p[1], true
	}
	return o
}

// args returns the words the pair contributes to the command line.
func (o opt) args() []string {
	if o.pair[1] == "" {
		return []string{o.pair[0]}
	}
	return []string{o.pair[0], o.pair[1]}
}

// droppedFlag reports whether an option fights systemd's supervision and
// is dropped: detaching (-d), a terminal or stdin (-i, -t, -it and the
// like), the engine's restart policy, --rm and --name (rockon sets both).
func droppedFlag(flag string) bool {
	switch flag {
	case "--detach", "--interactive", "--tty", "--restart", "--rm", "--name":
		return true
	}
	if len(flag) >= 2 && flag[0] == '-' && flag[1] != '-' {
		return strings.Trim(flag[1:], "dit") == ""
	}
	return false
}

// Consent tokens. A definition whose opts ask for one of these privileges
// is refused unless Choices.Consent lists the token; RequiredConsent tells
// which tokens a definition needs, so the CLI and the daemon can show them.
const (
	// ConsentPrivileged: --privileged (any spelling but =false): the
	// container gets every capability and every host device.
	ConsentPrivileged = "privileged"
	// ConsentCapPrefix + capability name (upper case, no CAP_ prefix):
	// --cap-add of a capability that reaches beyond the container, e.g.
	// "cap-add:SYS_ADMIN", "cap-add:ALL". NET_ADMIN and NET_RAW count only
	// with the host's network (--net=host).
	ConsentCapPrefix = "cap-add:"
	// ConsentHostPID, ConsentHostIPC, ConsentHostUserns: --pid=host,
	// --ipc=host, --userns=host.
	ConsentHostPID    = "host-pid"
	ConsentHostIPC    = "host-ipc"
	ConsentHostUserns = "host-userns"
	// ConsentUnconfined: --security-opt seccomp=unconfined,
	// apparmor=unconfined, label=disable or systempaths=unconfined.
	ConsentUnconfined = "unconfined"
	// ConsentHostDevices: the whole of /dev, or /dev/mem, /dev/kmem,
	// /dev/port, as --device or as a -v source.
	ConsentHostDevices = "host-devices"
	// ConsentDockerSocket: an engine's API socket (docker, podman,
	// containerd) as a -v or --mount source: root on the host.
	ConsentDockerSocket = "docker-socket"
	// ConsentHostPaths: a system path ("/", /etc, /proc, /sys, /dev, /run,
	// /boot, the engines' and rockon's state) bind-mounted by -v or
	// --mount, or an option that makes the engine read or write a host
	// file (--env-file, --label-file, --cidfile, --pidfile,
	// --conmon-pidfile).
	ConsentHostPaths = "host-paths"
	// ConsentHostUTS, ConsentHostCgroupns: --uts=host, --cgroupns=host.
	ConsentHostUTS      = "host-uts"
	ConsentHostCgroupns = "host-cgroupns"
)

// hostNamespace reports whether a --pid, --ipc, --userns, --uts or
// --cgroupns value joins the host's namespace: "host", or podman's
// "ns:<path>" (e.g. ns:/proc/1/ns/pid).
func hostNamespace(v string) bool {
	return v == "host" || strings.HasPrefix(v, "ns:")
}

// harmlessDevice: devices a definition may pass with --device without
// consent. Any other (a disk, /dev/mem, the whole of /dev) reaches the
// host's data or memory.
func harmlessDevice(src string) bool {
	src = path.Clean(src)
	switch src {
	case "/dev/net/tun", "/dev/fuse", "/dev/dri", "/dev/snd":
		return true
	}
	return strings.HasPrefix(src, "/dev/dri/") || strings.HasPrefix(src, "/dev/snd/")
}

// systemBind reports whether a bind-mount source is a system path (and
// not one a more specific token covers).
func systemBind(src string) bool {
	if !strings.HasPrefix(src, "/") {
		return false // a named volume
	}
	src = path.Clean(src)
	if src == "/" {
		return true
	}
	if isEngineSocket(src) || isHostDevices(src) {
		return false
	}
	for _, d := range forbiddenHostDirs {
		if src == d || strings.HasPrefix(src, d+"/") {
			return true
		}
	}
	return false
}

// riskyCaps are capabilities that let a container act on the host.
var riskyCaps = map[string]bool{
	"ALL": true, "SYS_ADMIN": true, "SYS_MODULE": true, "SYS_RAWIO": true,
	"SYS_PTRACE": true, "SYS_BOOT": true, "SYS_TIME": true, "DAC_READ_SEARCH": true,
	"MAC_ADMIN": true, "MAC_OVERRIDE": true, "BPF": true, "PERFMON": true, "SYSLOG": true,
}

// hostNetCaps are risky only when the container shares the host's network.
var hostNetCaps = map[string]bool{"NET_ADMIN": true, "NET_RAW": true}

// engineSockets are API sockets of the container engines.
var engineSockets = []string{
	"/var/run/docker.sock", "/run/docker.sock",
	"/var/run/podman/podman.sock", "/run/podman/podman.sock",
	"/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock",
}

func isEngineSocket(p string) bool {
	return slices.Contains(engineSockets, path.Clean(p))
}

func isHostDevices(p string) bool {
	switch path.Clean(p) {
	case "/dev", "/dev/mem", "/dev/kmem", "/dev/port":
		return true
	}
	return false
}

// hostNetwork reports whether the container's opts put it on the host's
// network.
func hostNetwork(c *catalog.Container) bool {
	for _, p := range c.Opts {
		o := parseOpt(p)
		if (o.flag == "--net" || o.flag == "--network") && o.value == "host" {
			return true
		}
	}
	return false
}

// ownNetwork returns the network a container's opts name (--net=X), if any.
func ownNetwork(c *catalog.Container) (string, bool) {
	for _, p := range c.Opts {
		o := parseOpt(p)
		if o.flag == "--net" || o.flag == "--network" {
			return o.value, true
		}
	}
	return "", false
}

// isUserNetwork reports whether a --net/--network value names a
// user-defined engine network rather than a network mode the engines
// provide: host, bridge, none, default, private, container:ID, ns:PATH,
// slirp4netns[:OPTIONS] and pasta[:OPTIONS] (the last two are podman's
// rootless modes).
func isUserNetwork(v string) bool {
	switch v {
	case "", "host", "bridge", "none", "default", "private":
		return false
	}
	for _, p := range []string{"container:", "ns:", "slirp4netns", "pasta"} {
		if strings.HasPrefix(v, p) {
			return false
		}
	}
	return true
}

// userNetworks returns, in order and once each, the user-defined networks
// a container's opts name (--net=NAME, --network NAME): the rock-on needs
// them, and nothing but rockon creates them on a fresh host.
func userNetworks(c *catalog.Container) []string {
	var names []string
	for _, p := range c.Opts {
		o := parseOpt(p)
		if (o.flag == "--net" || o.flag == "--network") && isUserNetwork(o.value) && !slices.Contains(names, o.value) {
			names = append(names, o.value)
		}
	}
	return names
}

// optConsent returns the consent tokens one option needs.
func optConsent(o opt, hostNet bool) []string {
	var need []string
	switch o.flag {
	case "--privileged":
		if !o.hasValue || !strings.EqualFold(o.value, "false") {
			need = append(need, ConsentPrivileged)
		}
	case "--cap-add":
		for _, c := range strings.Split(o.value, ",") {
			c = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
			if riskyCaps[c] || (hostNet && hostNetCaps[c]) {
				need = append(need, ConsentCapPrefix+c)
			}
		}
	case "--pid":
		if hostNamespace(o.value) {
			need = append(need, ConsentHostPID)
		}
	case "--ipc":
		if hostNamespace(o.value) {
			need = append(need, ConsentHostIPC)
		}
	case "--userns":
		if hostNamespace(o.value) {
			need = append(need, ConsentHostUserns)
		}
	case "--uts":
		if hostNamespace(o.value) {
			need = append(need, ConsentHostUTS)
		}
	case "--cgroupns":
		if hostNamespace(o.value) {
			need = append(need, ConsentHostCgroupns)
		}
	case "--env-file", "--label-file", "--cidfile", "--pidfile", "--conmon-pidfile", "--rootfs":
		need = append(need, ConsentHostPaths)
	case "--log-opt":
		if k, _, _ := strings.Cut(o.value, "="); strings.TrimSpace(strings.ToLower(k)) == "path" {
			need = append(need, ConsentHostPaths) // podman's k8s-file log written anywhere
		}
	case "--device-cgroup-rule":
		need = append(need, ConsentHostDevices)
	case "--security-opt":
		switch strings.ReplaceAll(o.value, ":", "=") {
		case "seccomp=unconfined", "apparmor=unconfined", "label=disable", "systempaths=unconfined":
			need = append(need, ConsentUnconfined)
		}
	case "--device":
		src, _, _ := strings.Cut(o.value, ":")
		if !harmlessDevice(src) {
			need = append(need, ConsentHostDevices)
		}
	case "-v", "--volume":
		src, _, bind := strings.Cut(o.value, ":")
		if isEngineSocket(src) {
			need = append(need, ConsentDockerSocket)
		}
		if isHostDevices(src) {
			need = append(need, ConsentHostDevices)
		}
		if bind && systemBind(src) { // without ':' it is an anonymous volume
			need = append(need, ConsentHostPaths)
		}
	case "--mount":
		for _, kv := range strings.Split(o.value, ",") {
			k, v, _ := strings.Cut(kv, "=")
			// the engines read mount keys case-insensitively
			if k = strings.ToLower(strings.TrimSpace(k)); k == "source" || k == "src" {
				if isEngineSocket(v) {
					need = append(need, ConsentDockerSocket)
				}
				if isHostDevices(v) {
					need = append(need, ConsentHostDevices)
				}
				if systemBind(v) {
					need = append(need, ConsentHostPaths)
				}
			}
		}
	}
	return need
}

// RequiredConsent lists, sorted, the consent tokens the definition's opts
// need (see the Consent* constants). Installing it requires every one of
// them in Choices.Consent.
func RequiredConsent(def *catalog.RockOn) []string {
	var need []string
	for i := range def.Containers {
		c := &def.Containers[i]
		hn := hostNetwork(c)
		for _, p := range c.Opts {
			need = append(need, optConsent(parseOpt(p), hn)...)
		}
	}
	slices.Sort(need)
	return slices.Compact(need)
}

// HostNetworkContainers lists the containers of the definition that share
// the host's network (--net=host): allowed, but they see and may bind every
// host interface, so the CLI and the daemon report them.
func HostNetworkContainers(def *catalog.RockOn) []string {
	var names []string
	for i := range def.Containers {
		if hostNetwork(&def.Containers[i]) {
			names = append(names, def.Containers[i].Name)
		}
	}
	return names
}
