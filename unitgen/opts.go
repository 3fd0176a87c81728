package unitgen

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/rockon/rockon/catalog"
)

// droppedFlag reports whether an option fights systemd's supervision and
// is dropped (catalog.DroppedOpt has the list and the reasons).
func droppedFlag(flag string) bool { return catalog.DroppedOpt(flag) != "" }

// Consent tokens. A definition whose opts ask for one of these privileges
// is refused unless model.Choices.Consent lists the token; RequiredConsent tells
// which tokens a definition needs, so the CLI and the daemon can show them.
const (
	// ConsentPrivileged: --privileged (any spelling but =false): the
	// container gets every capability and every host device.
	ConsentPrivileged = "privileged"
	// ConsentCapPrefix + capability name (upper case, no CAP_ prefix):
	// --cap-add of a capability outside the engines' default set, e.g.
	// "cap-add:SYS_ADMIN", "cap-add:NET_ADMIN", "cap-add:ALL". NET_RAW,
	// a default one, counts only with the host's network (--net=host).
	ConsentCapPrefix = "cap-add:"
	// ConsentHostPID, ConsentHostIPC, ConsentHostUserns: --pid=host,
	// --ipc=host, --userns=host.
	ConsentHostPID    = "host-pid"
	ConsentHostIPC    = "host-ipc"
	ConsentHostUserns = "host-userns"
	// ConsentUnconfined: --security-opt seccomp=unconfined,
	// apparmor=unconfined, label=disable, systempaths=unconfined or
	// unmask=PATHS (a writable /proc/sys, /sys/firmware, ...).
	ConsentUnconfined = "unconfined"
	// ConsentSecurityOpt: any other --security-opt than
	// no-new-privileges (a seccomp profile file, an SELinux type, an
	// AppArmor profile, no-new-privileges=false, ...).
	ConsentSecurityOpt = "security-opt"
	// ConsentHostDevices: a device other than tun, fuse, dri and snd
	// (--device, --gpus, --device-cgroup-rule), the whole of /dev, or
	// /dev/mem, /dev/kmem, /dev/port as a bind-mount source.
	ConsentHostDevices = "host-devices"
	// ConsentDockerSocket: an engine's API socket (docker, podman,
	// containerd) as a -v or --mount source: root on the host.
	ConsentDockerSocket = "docker-socket"
	// ConsentHostPaths: a host path the definition names itself,
	// bind-mounted by -v or --mount (the user chose none of it: it may be
	// a system directory or another rock-on's data), or an option that
	// makes the engine read or write a host file (--env-file,
	// --label-file, --cidfile, --pidfile, --conmon-pidfile, --log-opt
	// path=).
	ConsentHostPaths = "host-paths"
	// ConsentHostUTS, ConsentHostCgroupns: --uts=host, --cgroupns=host.
	ConsentHostUTS      = "host-uts"
	ConsentHostCgroupns = "host-cgroupns"
	// ConsentSysctl: --sysctl other than net.* on the container's own
	// network (net.* on the host's network, kernel.*, fs.*: the host's
	// kernel settings or shared IPC limits).
	ConsentSysctl = "sysctl"
	// ConsentCgroupParent: --cgroup-parent, placing the container in a
	// cgroup of the host's choosing rather than its unit's.
	ConsentCgroupParent = "cgroup-parent"
	// ConsentIDMap: --uidmap/--gidmap, mapping container users onto
	// chosen host users.
	ConsentIDMap = "idmap"
)

// defaultCaps are the capabilities docker gives every container (podman's
// default set is a subset): adding one back changes nothing beyond the
// container, so it needs no consent.
var defaultCaps = map[string]bool{
	"AUDIT_WRITE": true, "CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true, "FSETID": true,
	"KILL": true, "MKNOD": true, "NET_BIND_SERVICE": true, "NET_RAW": true, "SETFCAP": true,
	"SETGID": true, "SETPCAP": true, "SETUID": true, "SYS_CHROOT": true,
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
	for _, o := range containerOpts(c) {
		if o.Flag == "--network" && o.Value == "host" {
			return true
		}
	}
	return false
}

// ownNetwork returns the network a container's opts name (--net=X), if any.
func ownNetwork(c *catalog.Container) (string, bool) {
	for _, o := range containerOpts(c) {
		if o.Flag == "--network" {
			return o.Value, true
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
	for _, p := range []string{"container:", "ns:", "slirp4netns", "pasta", "bridge:"} {
		if strings.HasPrefix(v, p) {
			return false
		}
	}
	return true
}

// optCtx is what checking one option needs to know of its container.
type optCtx struct {
	def     *catalog.RockOn
	self    string // the container's name
	hostNet bool
}

// sibling reports whether name is another container of the same rock-on:
// the only containers whose namespaces and volumes a container may join.
func (x optCtx) sibling(name string) bool {
	if name == x.self {
		return false
	}
	_, ok := x.def.Container(name)
	return ok
}

// joinNamespace checks a --pid/--ipc/--uts/--userns/--cgroupns/--network
// value that names a namespace to join: "host" needs the token,
// "container:X" must name a sibling, "ns:PATH" (any file, e.g. another
// container's /proc/PID/ns/...) is refused.
func (x optCtx) joinNamespace(flag, v, hostToken string) (need []string, why string) {
	switch {
	case v == "host" && hostToken != "":
		return []string{hostToken}, ""
	case strings.HasPrefix(v, "container:"):
		if name := strings.TrimPrefix(v, "container:"); !x.sibling(name) {
			return nil, fmt.Sprintf("%s %s: %q is not another container of this rock-on (other containers are never reachable)", flag, v, name)
		}
	case strings.HasPrefix(v, "ns:"):
		return nil, fmt.Sprintf("%s %s: joining a namespace by path is not supported (it may be the host's or another container's)", flag, v)
	}
	return nil, ""
}

// bindSource checks a bind-mount source a definition names itself (-v
// SRC:DST, --mount source=SRC): an absolute host path needs consent (an
// engine socket or host devices their own token, which covers it); a relative path
// (resolved against the unit's working directory, /) and an engine volume
// by name (it outlives the rock-on and may hold another rock-on's data, or
// be a bind of any host path through volume options) are refused.
func bindSource(flag, src string) (need []string, why string) {
	switch {
	case src == "":
		return nil, fmt.Sprintf("%s: empty source", flag)
	case isEngineSocket(src):
		return []string{ConsentDockerSocket}, ""
	case isHostDevices(src):
		return []string{ConsentHostDevices}, ""
	case strings.HasPrefix(src, "/"):
		return []string{ConsentHostPaths}, ""
	case validEngineName(src) && !strings.HasPrefix(src, "."):
		return nil, fmt.Sprintf("%s: engine volume %q by name is not allowed (it outlives the rock-on and may hold another rock-on's data); declare a volume in the definition", flag, src)
	}
	return nil, fmt.Sprintf("%s: host path %q is not absolute (the engine resolves it against /)", flag, src)
}

// mountKeys are the --mount fields rockon passes, by mount type; others
// (volume-opt, volume-driver, bind-propagation=shared, ...) are refused.
var mountKeys = map[string]bool{
	"type": true, "source": true, "src": true, "destination": true, "dst": true, "target": true,
	"readonly": true, "ro": true, "rw": true, "consistency": true, "bind-nonrecursive": true,
	"bind-propagation": true, "relabel": true, "z": true, "chown": true, "u": true,
	"tmpfs-size": true, "tmpfs-mode": true, "tmpcopyup": true, "notmpcopyup": true,
	"volume-nocopy": true, "nocopy": true,
}

// checkMount reads a --mount value as the engines do (one line of CSV,
// quoted fields allowed, keys case-insensitive as docker reads them).
func checkMount(v string) (need []string, why string) {
	fields, err := csvFields(v)
	if err != nil {
		return nil, fmt.Sprintf("--mount %s: %v", v, err)
	}
	typ := "volume" // docker's default
	var srcs []string
	for _, f := range fields {
		k, val, _ := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !mountKeys[k] {
			return nil, fmt.Sprintf("--mount field %q is not allowed", f)
		}
		switch k {
		case "type":
			typ = strings.ToLower(val)
		case "source", "src":
			srcs = append(srcs, val)
		case "bind-propagation":
			switch val {
			case "private", "rprivate", "slave", "rslave":
			default:
				return nil, fmt.Sprintf("--mount bind-propagation=%s is not allowed (mounts would propagate to the host)", val)
			}
		}
	}
	switch typ {
	case "bind":
		if len(srcs) == 0 {
			return nil, "--mount type=bind without a source"
		}
	case "volume":
	case "tmpfs":
		if len(srcs) > 0 {
			return nil, "--mount type=tmpfs takes no source"
		}
	default:
		return nil, fmt.Sprintf("--mount type=%s is not allowed (bind, volume or tmpfs)", typ)
	}
	for _, s := range srcs {
		n, why := bindSource("--mount", s)
		if why != "" {
			return nil, why
		}
		need = append(need, n...)
	}
	return need, ""
}

// checkOpt returns the consent tokens one option needs, or why it is
// refused outright.
func checkOpt(o Opt, x optCtx) (need []string, why string) {
	switch o.Flag {
	case "--privileged":
		if b, _ := strconv.ParseBool(o.Value); !o.HasValue || b {
			need = append(need, ConsentPrivileged)
		}
	case "--cap-add":
		for _, c := range strings.Split(o.Value, ",") {
			c = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
			if c == "" {
				continue
			}
			if !defaultCaps[c] || (x.hostNet && c == "NET_RAW") {
				need = append(need, ConsentCapPrefix+c)
			}
		}
	case "--pid":
		return x.joinNamespace(o.Flag, o.Value, ConsentHostPID)
	case "--ipc":
		return x.joinNamespace(o.Flag, o.Value, ConsentHostIPC)
	case "--userns":
		return x.joinNamespace(o.Flag, o.Value, ConsentHostUserns)
	case "--uts":
		return x.joinNamespace(o.Flag, o.Value, ConsentHostUTS)
	case "--cgroupns":
		return x.joinNamespace(o.Flag, o.Value, ConsentHostCgroupns)
	case "--network":
		if strings.Contains(o.Value, ",") {
			return nil, fmt.Sprintf("--network %s: one network per option", o.Value)
		}
		if isUserNetwork(o.Value) && !validEngineName(o.Value) {
			return nil, fmt.Sprintf("--network %q is not a valid network name", o.Value)
		}
		return x.joinNamespace(o.Flag, o.Value, "") // host: allowed, reported
	case "--volumes-from":
		for _, v := range strings.Split(o.Value, ",") {
			name, _, _ := strings.Cut(v, ":")
			if !x.sibling(name) {
				return nil, fmt.Sprintf("--volumes-from %s: %q is not another container of this rock-on (other containers are never reachable)", o.Value, name)
			}
		}
	case "--link":
		name, _, _ := strings.Cut(o.Value, ":")
		if !x.sibling(name) {
			return nil, fmt.Sprintf("--link %s: %q is not another container of this rock-on (other containers are never reachable)", o.Value, name)
		}
	case "--env-file", "--label-file", "--cidfile", "--pidfile", "--conmon-pidfile":
		need = append(need, ConsentHostPaths)
	case "--log-opt":
		if k, _, _ := strings.Cut(o.Value, "="); strings.TrimSpace(strings.ToLower(k)) == "path" {
			need = append(need, ConsentHostPaths) // podman's k8s-file log written anywhere
		}
	case "--log-driver":
		switch o.Value {
		case "json-file", "journald", "k8s-file", "none", "local":
		default:
			return nil, fmt.Sprintf("--log-driver %s is not allowed (json-file, journald, k8s-file, local or none)", o.Value)
		}
	case "--device-cgroup-rule", "--gpus":
		need = append(need, ConsentHostDevices)
	case "--device":
		for _, d := range strings.Split(o.Value, ",") {
			src, _, _ := strings.Cut(d, ":")
			if !strings.HasPrefix(src, "/dev/") || !harmlessDevice(src) {
				need = append(need, ConsentHostDevices)
			}
		}
	case "--security-opt":
		k, v, _ := strings.Cut(strings.Replace(o.Value, ":", "=", 1), "=")
		switch {
		case k == "no-new-privileges" && (v == "" || v == "true"):
		case k == "unmask" || (k == "seccomp" || k == "apparmor" || k == "systempaths") && v == "unconfined" || o.Value == "label=disable" || o.Value == "label:disable":
			need = append(need, ConsentUnconfined)
		case k == "mask":
			// masks more of /proc or /sys: never less confined
		default:
			need = append(need, ConsentSecurityOpt)
		}
	case "--sysctl":
		for _, s := range strings.Split(o.Value, ",") {
			if !strings.HasPrefix(strings.TrimSpace(s), "net.") || x.hostNet {
				need = append(need, ConsentSysctl)
			}
		}
	case "--cgroup-parent":
		need = append(need, ConsentCgroupParent)
	case "--uidmap", "--gidmap":
		need = append(need, ConsentIDMap)
	case "--volume":
		parts := strings.Split(o.Value, ":")
		if len(parts) == 1 {
			if !strings.HasPrefix(o.Value, "/") {
				return nil, fmt.Sprintf("--volume %s: an anonymous volume needs an absolute container path", o.Value)
			}
			return nil, "" // an anonymous volume
		}
		return bindSource("--volume", parts[0])
	case "--mount":
		return checkMount(o.Value)
	}
	return need, ""
}

// checkDefinitionOpts parses and checks every container's opts: the
// consent tokens they need, sorted, and the problems that refuse the
// definition whatever the consent (an option rockon does not know, a value
// read differently by the engine, another rock-on's container, ...).
func checkDefinitionOpts(def *catalog.RockOn) (need, problems []string) {
	for i := range def.Containers {
		c := &def.Containers[i]
		x := optCtx{def: def, self: c.Name, hostNet: hostNetwork(c)}
		for _, p := range c.Opts {
			opts, err := ParsePair(p)
			if err != nil {
				problems = append(problems, fmt.Sprintf("container %q: opts %q: %v", c.Name, pairText(p), err))
				continue
			}
			dropped := 0
			for _, o := range opts {
				if droppedFlag(o.Flag) {
					dropped++
				}
				n, why := checkOpt(o, x)
				if why != "" {
					problems = append(problems, fmt.Sprintf("container %q: opts %q: %s", c.Name, pairText(p), why))
				}
				need = append(need, n...)
			}
			if dropped > 0 && dropped < len(opts) {
				problems = append(problems, fmt.Sprintf("container %q: opts %q mixes options rockon drops (detach, terminal, restart, rm, name) with others: write them as separate pairs", c.Name, pairText(p)))
			}
		}
	}
	slices.Sort(need)
	return slices.Compact(need), problems
}

// RequiredConsent lists, sorted, the consent tokens the definition's opts
// need (see the Consent* constants). Installing it requires every one of
// them in model.Choices.Consent.
func RequiredConsent(def *catalog.RockOn) []string {
	need, _ := checkDefinitionOpts(def)
	return need
}

// OptProblems lists what refuses the definition's opts whatever the
// consent: an option rockon does not accept (named), a value the engine
// would read differently, a relative or named-volume source, another
// rock-on's container. ValidateChoices reports them.
func OptProblems(def *catalog.RockOn) []string {
	_, probs := checkDefinitionOpts(def)
	return probs
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

// ConsentText explains a consent token in words, for the CLI: "privileged
// (the container gets every capability and every host device)".
func ConsentText(tok string) string {
	why := ConsentReason(tok)
	if why == "" {
		return tok
	}
	return tok + " (" + why + ")"
}

// ConsentReason says what accepting a consent token lets the container do
// ("" for a token rockon does not know); D-Bus's GetConsent sends it to the
// web UI.
func ConsentReason(tok string) string {
	if strings.HasPrefix(tok, ConsentCapPrefix) {
		return "a kernel capability beyond the engines' default set"
	}
	return consentReasons[tok]
}

var consentReasons = map[string]string{
	ConsentPrivileged:   "the container gets every capability and every host device",
	ConsentDockerSocket: "the container controls the container engine, hence the host",
	ConsentHostPID:      "the container shares a namespace with the host",
	ConsentHostIPC:      "the container shares a namespace with the host",
	ConsentHostUserns:   "the container shares a namespace with the host",
	ConsentHostUTS:      "the container shares a namespace with the host",
	ConsentHostCgroupns: "the container shares a namespace with the host",
	ConsentUnconfined:   "the container runs without its security profile or with /proc and /sys unmasked",
	ConsentSecurityOpt:  "the container's security profile is changed from the engine's default",
	ConsentHostDevices:  "the container reaches the host's devices or memory",
	ConsentHostPaths:    "the container reads or writes host files the definition chose, not you",
	ConsentSysctl:       "the container changes kernel settings beyond its own network",
	ConsentCgroupParent: "the container is placed in a cgroup of the definition's choosing",
	ConsentIDMap:        "container users are mapped onto host users the definition chose",
}
